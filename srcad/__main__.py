"""``python -m srcad show|check ...``: see ``srcad.cli`` or ``python -m srcad --help``."""
import sys

from srcad.cli import main

sys.exit(main())
