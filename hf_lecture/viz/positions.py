"""The sinusoidal positional-encoding matrix of "Attention Is All You Need", section 3.5, as a picture.

Left: the whole table, one row per position and one column per dimension. Low dimensions
oscillate fast along the positions and high ones slowly, so every row is a different pattern.
Right: a few dimensions drawn as curves over the positions, the sines and cosines of the formula.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..models.layers import sinusoidal_table
from .figure import new_figure, save_figure


def plot_positional_encoding(
    path: str | Path, num_positions: int = 100, d_model: int = 128, layout: str = "interleaved"
) -> Path:
    """Write the (num_positions, d_model) sinusoid table of ``layers.sinusoidal_table`` as a PNG."""
    if not isinstance(num_positions, int) or num_positions < 1:
        raise ValueError(f"num_positions must be a positive integer, got {num_positions!r}")
    if not isinstance(d_model, int) or d_model < 2:
        raise ValueError(f"d_model must be an integer >= 2 (one sine and one cosine), got {d_model!r}")
    table = sinusoidal_table(num_positions, d_model, layout).numpy()  # (P, D)

    figure = new_figure(13, 5.5)
    matrix_axes, curve_axes = figure.subplots(1, 2, width_ratios=[1.3, 1])

    image = matrix_axes.imshow(table, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    matrix_axes.set_title(f"PE matrix ({num_positions} positions x d_model={d_model}, {layout})")
    matrix_axes.set_xlabel("embedding dimension i")
    matrix_axes.set_ylabel("position pos")
    figure.colorbar(image, ax=matrix_axes, label="PE value", shrink=0.9)

    # Sine dimensions of a few frequency pairs k, each with a longer wavelength 2*pi*10000^(2k/d).
    num_pairs = (d_model + 1) // 2
    for k in sorted({max(1, num_pairs // 16), max(1, num_pairs // 8), num_pairs // 4, num_pairs // 2} - {0}):
        i = 2 * k if layout == "interleaved" else k  # the column that holds sin of pair k
        wavelength = 2 * math.pi * 10000 ** (2 * k / d_model)
        curve_axes.plot(table[:, i], label=f"dimension {i} (sin, wavelength {wavelength:.0f})", linewidth=1.5)
    curve_axes.set_title("PE(pos, i) along the positions for a few dimensions")
    curve_axes.set_xlabel("position pos")
    curve_axes.set_ylabel("PE(pos, i)")
    curve_axes.set_ylim(-1.15, 1.15)
    curve_axes.grid(alpha=0.3)
    curve_axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8)

    figure.suptitle("Sinusoidal positional encoding: PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...)")
    return save_figure(figure, path)
