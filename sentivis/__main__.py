"""`python -m sentivis COMMAND`: the `sentivis` command, which lives with the other tools (toolkit/cli.py).
Only running this module imports the tools; `import sentivis` never does."""
import sys

from toolkit.cli import main

sys.exit(main())
