"""`python -m sentivis COMMAND`: the `sentivis` command (sentivis/cli.py)."""
import sys

from sentivis.cli import main

sys.exit(main())
