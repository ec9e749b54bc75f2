"""Figures without a screen: matplotlib's object-oriented API on the Agg canvas.

``Figure`` objects are created directly (no ``pyplot``), so nothing here touches matplotlib's
global backend or keeps figures alive between calls, and plotting works on headless machines.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

DPI = 120  # dots per inch of the written PNGs: readable on screen, files stay small


@cache
def font_families() -> tuple[str, ...]:
    """Matplotlib's default font, then NanumGothic for the glyphs it lacks (the lecture's Korean tokens).

    NanumGothic ships inside the koreanize-matplotlib package; it is registered with matplotlib's
    font manager only, without the global rcParams change that importing that package makes.
    """
    spec = importlib.util.find_spec("koreanize_matplotlib")
    font_file = Path(spec.origin).parent / "fonts" / "NanumGothic.ttf" if spec and spec.origin else None
    if font_file is None or not font_file.is_file():
        return ("DejaVu Sans",)
    font_manager.fontManager.addfont(str(font_file))
    return ("DejaVu Sans", font_manager.FontProperties(fname=font_file).get_name())


def new_figure(width: float, height: float) -> Figure:
    """A blank figure of width x height inches; constrained layout keeps labels and colorbars apart."""
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` as a PNG at ``path`` (parent folders are created) and return the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png (the plots are written as PNG files), got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    for text in figure.findobj(Text):  # titles, labels, tokens: glyph by glyph, fall back to the Hangul font
        text.set_fontfamily(list(font_families()))
    figure.savefig(path, dpi=DPI, format="png")
    return path


def plain_text(label: str) -> str:
    """A token as matplotlib should print it: a ``$`` would otherwise start a math formula."""
    return str(label).replace("$", r"\$")
