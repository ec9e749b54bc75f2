#!/usr/bin/env python
"""The lecture's claim, measured: a CNN learns from little data, a ViT needs more (a PNG of accuracy vs data).

    python scripts/cnn_vs_vit.py --output-dir runs/cnn-vs-vit

The same as `hf-lecture train-vit --cnn-vs-vit`; `--help` lists every option (declared once, in hf_lecture/cli.py).
"""

import sys

from hf_lecture.cli import main

if __name__ == "__main__":
    sys.exit(main(["train-vit", "--cnn-vs-vit", *sys.argv[1:]]))
