#!/usr/bin/env python
"""Convert a transformers BERT / ViT / Marian folder to hf_lecture's model.

    python scripts/convert.py path/to/bert lecture-bert/

The same as `hf-lecture convert`; `--help` lists every option (declared once, in hf_lecture/cli.py).
"""

import sys

from hf_lecture.cli import main

if __name__ == "__main__":
    sys.exit(main(["convert", *sys.argv[1:]]))
