import sys

from planet_engine.cli import main

sys.exit(main())
