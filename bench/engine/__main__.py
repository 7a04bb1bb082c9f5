"""`python -m bench.engine`: see bench/engine/__init__.py."""

from bench.engine.cli import main

raise SystemExit(main())
