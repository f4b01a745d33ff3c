"""Subcommands other than `check` and `rules`, one module each, registered in `cli`."""
