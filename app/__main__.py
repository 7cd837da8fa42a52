"""``python -m app``: the app, or a CLI subcommand."""

import sys

from .cli import main

sys.exit(main())
