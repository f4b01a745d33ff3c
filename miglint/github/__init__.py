"""Running inside GitHub Actions: the environment, the diff scope, check runs and summaries.

Only this package and `cli` read the environment; everything it needs from Actions is
read once, in `environment`, into a plain value.
"""
