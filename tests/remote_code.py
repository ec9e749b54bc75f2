"""Run a script in a fresh interpreter where hf_lecture cannot be imported (trust_remote_code checks)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[1])

# Prepended to the script: hide the checkout and the editable-install finder, then prove it worked.
PRELUDE = f"""
import sys
sys.path = [p for p in sys.path if p not in ("", ".", {REPO!r})]
sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
try:
    import hf_lecture
    raise SystemExit("hf_lecture must not be importable here")
except ImportError:
    pass
"""


def run_without_hf_lecture(script: str, workdir: Path, timeout: int = 300) -> str:
    """Runs ``script`` from ``workdir``; returns its stdout, raises AssertionError with stderr on failure."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HF_HOME"] = str(Path(workdir) / "hf_home")
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(script)],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
