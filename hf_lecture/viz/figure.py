"""Figures without a screen: matplotlib's object-oriented API on the Agg canvas.

``Figure`` objects are created directly (no ``pyplot``), so nothing here touches matplotlib's
global backend or keeps figures alive between calls, and plotting works on headless machines.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

DPI = 120  # dots per inch of the written PNGs: readable on screen, files stay small


def new_figure(width: float, height: float) -> Figure:
    """A blank figure of width x height inches; constrained layout keeps labels and colorbars apart."""
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` as a PNG at ``path`` (parent folders are created) and return the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png (the plots are written as PNG files), got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, format="png")
    return path


def plain_text(label: str) -> str:
    """A token as matplotlib should print it: a ``$`` would otherwise start a math formula."""
    return str(label).replace("$", r"\$")
