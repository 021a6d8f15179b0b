"""``python -m replica.cli``."""

import sys

from . import main

sys.exit(main())
