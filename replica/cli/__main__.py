"""``python -m replica.cli``."""

import sys

from . import main

if __name__ == "__main__":  # importing this module (pdoc, module walkers) runs nothing
    sys.exit(main())
