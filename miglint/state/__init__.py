"""State: what the migrations do, replayed in the order `migrate` applies them.

Takes the loaded `Project` (its migrations' facts and the graph). Gives `values` (every
value in the canonical form the comparison uses, and how names resolve), `fields` (a field
as `Field.deconstruct()` gives it), `state` (the model state the migrations build, as
Django's autodetector compares it), `models` and `project_classes` (an app's models and the
project's own classes read as source, into the same shape, with `model_source` and
`model_scopes`: the modules read and how names resolve in them), `autodetect` (the two states
compared, for MIG401), `effects` (whether an operation changes the schema, data, or
neither), `history` (what each field and model looked like just before an operation),
`tablestate` (each table just before an operation, for the deploy rules) and `plan` (what
`migrate APP TARGET` would run and what each step destroys).
"""
