"""Graph: parsed migrations to the migration graph, as Django's MigrationLoader builds it.

Takes the facts of each migration file (`miglint.source.parse`). Gives `nodes` (apps and
their migrations, with their place on disk) and `graph` (edges from dependencies and
run_before, squash replacement, leaves, cycles, missing nodes, the order `migrate` applies).
"""
