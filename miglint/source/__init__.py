"""Source: a file's bytes to frozen facts, with no knowledge of projects, graphs or rules.

Takes the bytes of a Python file (read through `miglint.core.inputs`). Gives `syntax`, a
small parser-neutral picture of Python source; its two front-ends, `pysource` (the running
interpreter's `ast`, fast) and `cstsource` (libcst, for syntax newer than the running
Python), with the hostile-input guards, and `frontend`, what the two share; `parse`, which
reads the facts of a migration file into the frozen types of `facts` (the Migration class,
its graph edges, its operations, its suppression comments); and `serial`, those facts to
JSON values and back for the cache.
"""
