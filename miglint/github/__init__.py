"""GitHub: running inside GitHub Actions, as `miglint action` (the Docker action's entry).

Takes the Actions environment (variables, inputs, the event payload), the checked-out tree
and a token. Gives check runs with annotations (`checks`), the job summary and outputs
(`summary`, `action`), review suggestions and a summary comment on the pull request
(`suggestions`, `pulls`) and the scope of a run, the files the event changed (`scope`).
Only this package and `cli` read the environment; everything it needs from Actions is read
once, in `environment`, into a plain value.
"""
