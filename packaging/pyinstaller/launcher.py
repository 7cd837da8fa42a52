"""Entry point of the desktop bundle: the same ``app.cli:main`` as the console script.

Without arguments it opens the app; with them it is the command line.
"""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
