#!/usr/bin/env python3
"""Build the patient handouts: `python build.py` builds everything; `python build.py --help` for options."""

import sys

from handouts.cli import main

if __name__ == "__main__":
    sys.exit(main())
