import sys

from miglint.cli import main

sys.exit(main())
