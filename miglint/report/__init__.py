"""Report: findings to the text of one output format; never the linted source.

Takes a list of `Finding`s (and, for SARIF, the rule classes' documentation). Gives one
small renderer per format (`text`, `json`, `sarif`, `github` workflow commands,
`markdown`), `statistics` (`--statistics`), `formats` (the `--format` names and their
renderers) and `common` (paths as the user sees them, counts per severity).
"""
