#!/usr/bin/env python3
"""Build the patient handouts: `python build.py` builds everything; `python build.py --help` for options."""

import signal
import sys

# Until cli.main turns signals into a clean stop, a Ctrl-C while Python is still importing ends the process
# quietly, as SIGTERM and SIGHUP do (nothing has been started yet), instead of with a KeyboardInterrupt traceback.
signal.signal(signal.SIGINT, signal.SIG_DFL)

from handouts.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
