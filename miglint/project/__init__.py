"""Project: paths on the command line to the project the rules look at, loaded once.

Takes paths (folders or files) and the command line's overrides. Gives `config`
(`[tool.miglint]` merged with flags), `discover` (paths to apps, their migration files and
models files), `djangosettings` (literal values of the settings modules),
`django_version` (from requirement and lock files), `patches` (project code that changes
what makemigrations compares), `baseline` (the recorded migrations, MIG006's digests), and
`load`, which reads and parses every migration and builds the graph into one `Project`.
"""
