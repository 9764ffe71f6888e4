"""Command line: `python -m labs.tinyimage --out DIR` builds (or reuses) the
tiny image in DIR and prints its path."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .builder import build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labs.tinyimage", description=__doc__)
    parser.add_argument("--out", type=Path, required=True,
                        help="cache directory for the image and the downloaded .debs")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(message)s")
    print(build(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
