"""Console entry point ``securemeter``."""

from __future__ import annotations

import argparse
import sys

from securemeter import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="securemeter", description=__doc__)
    parser.add_argument("--version", action="version", version=f"securemeter {__version__}")
    parser.parse_args(argv)
    print(f"securemeter {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
