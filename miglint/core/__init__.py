"""What every stage shares: the one diagnostic type and the recorded reads of the disk.

Takes nothing from the rest of miglint. Gives `finding` (the `Finding` every rule produces,
every fix attaches to and every reporter renders) and `inputs` (every look at the file
system that can change a run's answer, made and recorded in one place).
"""
