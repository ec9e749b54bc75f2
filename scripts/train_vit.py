#!/usr/bin/env python
"""Train the lecture's ViT on scikit-learn's digits (or an image folder) with Trainer.

    python scripts/train_vit.py --data-dir my_images/ --image-size 32 --patch-size 4

The same as `hf-lecture train-vit`; `--help` lists every option (declared once, in hf_lecture/cli.py).
"""

import sys

from hf_lecture.cli import main

if __name__ == "__main__":
    sys.exit(main(["train-vit", *sys.argv[1:]]))
