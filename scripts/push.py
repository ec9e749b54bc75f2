#!/usr/bin/env python
"""Push a saved model folder to the Hugging Face hub.

    python scripts/push.py runs/translate/model your-name/lecture-numbers

The same as `hf-lecture push`; `--help` lists every option (declared once, in hf_lecture/cli.py).
"""

import sys

from hf_lecture.cli import main

if __name__ == "__main__":
    sys.exit(main(["push", *sys.argv[1:]]))
