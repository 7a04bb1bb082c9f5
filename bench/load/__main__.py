"""`python -m bench.load`: see bench/load/__init__.py."""

from bench.load.cli import main

raise SystemExit(main())
