"""Run: one `miglint check` over a loaded project, from rules to the findings to report.

Takes the `Project` and the configuration. Gives `lint` (every selected rule over the
project, keeping what the configuration, the baseline and the `# miglint:` comments let
through: `suppress`), `attach_fixes` and `apply_fixes` (the edits rules offer, attached to
findings, applied by `--fix` or shown by `--show-fixes`), and what makes a run cheap:
`parallel` (parsing on several cores), `cache` (the signed cache folder), `results` (each
app's findings reused while nothing they depend on changed) and `answers` (a whole run's
output replayed when nothing it looked at changed).
"""
