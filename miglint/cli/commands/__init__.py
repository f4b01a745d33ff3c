"""Subcommands other than `check`, `rules` and `action` (that one is `miglint.github.action`).

One module each, registered by name in `miglint.cli.main` and imported only when named.
Each takes its parsed arguments and gives an exit status.
"""
