#!/usr/bin/env python
"""A short tour: train and try each of the lecture's models.

    python scripts/demo.py --quick

The same as `hf-lecture demo`; `--help` lists every option (declared once, in hf_lecture/cli.py).
"""

import sys

from hf_lecture.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
