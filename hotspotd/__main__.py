"""`python -m hotspotd ...`: the same as the `hotspotd` command."""

import sys

from .cli import main

sys.exit(main())
