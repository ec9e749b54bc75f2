#!/usr/bin/env python
"""Pre-train the lecture's BERT (masked LM + next-sentence prediction).

    python scripts/pretrain_bert.py --data-files notes.txt --epochs 3 --output-dir runs/bert

The same as `hf-lecture pretrain-bert`; `--help` lists every option (declared once, in hf_lecture/cli.py).
"""

import sys

from hf_lecture.cli import main

if __name__ == "__main__":
    sys.exit(main(["pretrain-bert", *sys.argv[1:]]))
