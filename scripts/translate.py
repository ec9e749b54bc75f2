#!/usr/bin/env python
"""Train the encoder-decoder Transformer on translation pairs; greedy and beam search scores.

    python scripts/translate.py --data-file pairs.csv --output-dir runs/translate

The same as `hf-lecture translate`; `--help` lists every option (declared once, in hf_lecture/cli.py).
"""

import sys

from hf_lecture.cli import main

if __name__ == "__main__":
    sys.exit(main(["translate", *sys.argv[1:]]))
