"""Fixes: the edits a rule can offer for its finding, built without touching the disk.

Takes a finding and its file as a fix sees it (`source.FixSource`: the text, its `ast`, the
finding's facts). Gives `Edit`s (text edits, safe or unsafe as in ruff) or None: `text`
(positions, applying edits, diffs), `statements` (lines added to a class or a function,
imports added or removed), `cst` (libcst rewrites of one call or import), and one module
per kind of fix (`operations`, `merge`, `historical`, `signature`). A rule offers a fix by
defining `edit(finding, source)`. Attaching the edits to a run's findings and applying them
(`--fix`, `--show-fixes`) is the run stage's work (`miglint.run.attach_fixes`,
`miglint.run.apply_fixes`). libcst is imported only when a hook asks for a file's tree.
"""
