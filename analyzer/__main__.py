"""`python -m analyzer analyze PATH...`: the same command as `sentivis analyze`."""
from analyzer.cli import main

raise SystemExit(main())
