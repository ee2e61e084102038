"""`python -m toolkit COMMAND`: the `sentivis` command (toolkit/cli.py)."""
import sys

from toolkit.cli import main

sys.exit(main())
