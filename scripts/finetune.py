#!/usr/bin/env python
"""Fine-tune a pre-trained lecture BERT as a text (pair) classifier.

    python scripts/finetune.py --model-dir runs/bert/model --data-file reviews.csv

The same as `hf-lecture finetune`; `--help` lists every option (declared once, in hf_lecture/cli.py).
"""

import sys

from hf_lecture.cli import main

if __name__ == "__main__":
    sys.exit(main(["finetune", *sys.argv[1:]]))
