"""Fixes: the edits that `--fix` applies, attached to the findings that carry them.

A rule offers a fix by defining `edit(finding, source)`: it returns an `Edit` (text edits,
safe or unsafe as in ruff) or None. The shared layer (`attach`) finds the rules that do, gives
each hook the file of its finding (`FixSource`) and keeps the answer on the finding.
libcst is imported only when a hook asks for a file's tree, so attaching edits is done only
when the output shows them (JSON, SARIF, statistics, `--fix`, `--show-fixes`, the Action).
"""
