"""The console command lat-serve: runs the server program installed with this package.

    lat-serve --model DIR [--port 3000] ...   (lat-serve --help lists the flags; docs/serve.md)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    program = Path(__file__).resolve().parent / "bin" / "lat-serve"
    if not os.access(program, os.X_OK):
        sys.exit(f"lat-serve: {program} is missing; reinstall the lat package")
    os.execv(program, [str(program), *sys.argv[1:]])
