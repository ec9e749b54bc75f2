"""Attention maps: which tokens each query looks at, per layer and head, with the tokens on the axes.

A model run with ``output_attentions=True`` returns one tensor per layer of softmax weights,
shape (B, H, T, S): row t of head h holds how much query token t takes from each key token.
``plot_attention`` draws one PNG per layer holding a grid of its heads; ``attention_maps`` runs a
model and plots every kind of attention it has:

- encoder-decoder (``config.is_encoder_decoder``: ``lecture_transformer``, Marian, ...): encoder self-attention (source x source),
  masked decoder self-attention (target x target) and cross-attention (target queries x source keys);
- BERT-like encoders (``lecture_bert``, bert, ...): self-attention over the input tokens;
- ViT (``lecture_vit``, vit, ...): self-attention over "CLS", "p0", "p1", ..., and the attention of
  [CLS] to the patches laid back onto the patch grid over the image, per layer and head.

Axes: B batch, H heads, T query tokens, S key tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .figure import new_figure, plain_text, save_figure

HEADS_PER_ROW = 4  # head panels side by side before the grid wraps to a new row
INCHES_PER_TOKEN = 0.22  # panel side grows with the sequence so that every token label fits...
PANEL_INCHES = (2.6, 5.5)  # ...between these bounds (inches)
TICK_SPACING_INCHES = 0.14  # at least this far apart; longer sequences label every k-th token only
VISION_TYPES = {"lecture_vit", "vit", "deit"}


def _check_layers_or_heads(selection, count: int, name: str) -> list[int]:
    if selection is None:
        return list(range(count))
    chosen = [selection] if isinstance(selection, int) else list(selection)
    bad = [i for i in chosen if not isinstance(i, int) or not 0 <= i < count]
    if not chosen or bad:
        raise ValueError(f"{name} must be indices in [0, {count}), got {selection!r}")
    return chosen


def _set_token_ticks(axes, labels: Sequence[str], axis: str, fontsize: float, inches: float) -> None:
    """One tick per token (every k-th when ``inches`` of axis cannot hold them all), labelled with the token."""
    step = max(1, math.ceil(len(labels) * TICK_SPACING_INCHES / inches))
    positions = list(range(0, len(labels), step))
    texts = [plain_text(labels[i]) for i in positions]
    if axis == "x":
        axes.set_xticks(positions, texts, rotation=90, fontsize=fontsize)
    else:
        axes.set_yticks(positions, texts, fontsize=fontsize)


def plot_attention(
    attentions: Sequence[torch.Tensor],
    tokens_q: Sequence[str],
    tokens_k: Sequence[str],
    path: str | Path,
    title: str = "attention",
    layers: int | Sequence[int] | None = None,
    heads: int | Sequence[int] | None = None,
) -> Path | list[Path]:
    """One PNG per layer, a grid of its heads, queries (``tokens_q``) down and keys (``tokens_k``) across.

    ``attentions``: a tuple with one (B, H, T, S) tensor per layer, as models return with
    ``output_attentions=True``; batch element 0 is drawn. ``layers``: an int draws that layer into
    ``path`` itself and returns that Path; None (all) or a list writes ``<stem>_layer<i>.png`` next
    to ``path`` for each and returns the list. ``heads``: int, list, or None for all heads.
    """
    if not isinstance(attentions, (tuple, list)) or len(attentions) == 0 or any(a is None for a in attentions):
        raise ValueError(
            "attentions must be a non-empty tuple of (B, H, T, S) tensors, one per layer; "
            "was the model run with output_attentions=True and attn_implementation='eager'?"
        )
    first = attentions[0]
    if first.dim() != 4:
        raise ValueError(f"each attention tensor must have shape (B, H, T, S), got {tuple(first.shape)}")
    _, num_heads, query_length, key_length = first.shape
    if len(tokens_q) != query_length or len(tokens_k) != key_length:
        raise ValueError(
            f"tokens_q / tokens_k must label the {query_length} queries and {key_length} keys of the attention, "
            f"got {len(tokens_q)} and {len(tokens_k)} labels"
        )
    chosen_layers = _check_layers_or_heads(layers, len(attentions), "layers")
    chosen_heads = _check_layers_or_heads(heads, num_heads, "heads")

    path = Path(path)
    written = []
    for layer in chosen_layers:
        weights = attentions[layer][0, chosen_heads].detach().float().cpu().numpy()  # (H', T, S)
        file = path if isinstance(layers, int) else path.with_name(f"{path.stem}_layer{layer}{path.suffix}")
        figure_title = f"{title}, layer {layer} of {len(attentions)} (0-based)"
        written.append(_plot_heads(weights, chosen_heads, tokens_q, tokens_k, figure_title, file))
    return written[0] if isinstance(layers, int) else written


def _plot_heads(weights: np.ndarray, head_ids, tokens_q, tokens_k, title: str, path: Path) -> Path:
    """A grid of heatmaps, one per head (weights: (H', T, S)), sharing one colour scale and colorbar."""
    num_panels, query_length, key_length = weights.shape
    columns = min(num_panels, HEADS_PER_ROW)
    rows = math.ceil(num_panels / columns)
    low, high = PANEL_INCHES
    panel_width = min(high, max(low, INCHES_PER_TOKEN * key_length))
    panel_height = min(high, max(low, INCHES_PER_TOKEN * query_length))
    label_room = 0.08 * max(len(str(t)) for t in [*tokens_q, *tokens_k]) + 0.4  # inches for the tick labels
    figure = new_figure(columns * (panel_width + label_room) + 1.2, rows * (panel_height + label_room) + 0.8)
    grid = figure.subplots(rows, columns, squeeze=False)
    fontsize = 8 if max(query_length, key_length) <= 24 else 6
    vmax = float(weights.max()) or 1.0  # one scale for all heads: they can be compared by colour

    for panel, axes in enumerate(grid.flat):
        if panel >= num_panels:
            axes.set_visible(False)
            continue
        row, column = divmod(panel, columns)
        image = axes.imshow(weights[panel], cmap="viridis", vmin=0.0, vmax=vmax, aspect="auto", interpolation="nearest")
        axes.set_title(f"head {head_ids[panel]}", fontsize=10)
        _set_token_ticks(axes, tokens_k, "x", fontsize, panel_width)
        _set_token_ticks(axes, tokens_q, "y", fontsize, panel_height)
        if panel + columns >= num_panels:  # nothing drawn below this panel: it carries the key axis label
            axes.set_xlabel("key (attended to)")
        else:
            axes.tick_params(labelbottom=False)
        if column == 0:
            axes.set_ylabel("query (attending)")
        else:
            axes.tick_params(labelleft=False)
    figure.colorbar(image, ax=grid, label="attention weight", shrink=0.8)
    figure.suptitle(title)
    return save_figure(figure, path)


def plot_cls_to_patches(
    attentions: Sequence[torch.Tensor], grid_shape: tuple[int, int], path: str | Path, image: np.ndarray | None = None
) -> Path:
    """Layers x heads panels: the [CLS] token's attention to the patches, laid out as the patch grid.

    Each map is drawn over the image (H, W, 3 in [0, 1]) when one is given, which the first column
    shows alone; every map is scaled to its own maximum, so the pattern (not the level) is compared.
    """
    rows, columns = grid_shape
    num_layers, num_heads = len(attentions), attentions[0].shape[1]
    extra = 1 if image is not None else 0
    figure = new_figure(2.0 * (num_heads + extra) + 1.0, 2.0 * num_layers + 0.8)
    grid = figure.subplots(num_layers, num_heads + extra, squeeze=False)
    height, width = image.shape[:2] if image is not None else (rows, columns)
    for layer, weights in enumerate(attentions):
        cls_row = weights[0, :, 0, 1 : 1 + rows * columns].detach().float().cpu()  # (H, N): [CLS] query, patch keys
        maps = cls_row.reshape(num_heads, rows, columns).numpy()  # (H, rows, cols), row-major like the patches
        if image is not None:
            grid[layer, 0].imshow(image)
            grid[layer, 0].set_ylabel(f"layer {layer}")
            grid[layer, 0].set_title("image" if layer == 0 else "", fontsize=9)
        for head in range(num_heads):
            axes = grid[layer, head + extra]
            if image is not None:
                axes.imshow(image)
            scaled = maps[head] / max(float(maps[head].max()), 1e-12)
            shown = axes.imshow(
                scaled, cmap="inferno", vmin=0, vmax=1, alpha=0.6 if image is not None else 1.0,
                extent=(-0.5, width - 0.5, height - 0.5, -0.5), interpolation="nearest",
            )
            if layer == 0:
                axes.set_title(f"head {head}", fontsize=9)
            if head + extra == 0:
                axes.set_ylabel(f"layer {layer}")
        for axes in grid[layer]:
            axes.set_xticks([])
            axes.set_yticks([])
    figure.colorbar(shown, ax=grid, label="[CLS] attention / its maximum", shrink=0.8)
    figure.suptitle(f"Attention of [CLS] to the {rows}x{columns} patches, per layer (rows) and head (columns)")
    return save_figure(figure, path)


# ----------------------------------------------------------------------------------------------
# Running a model
# ----------------------------------------------------------------------------------------------


def _labels_for(ids: torch.Tensor | None, labels, side: int) -> list[str] | None:
    """Token labels for one row of ids: from a tokenizer, from given labels (side 0 source, 1 target), or ids."""
    tokenizer = getattr(labels, "tokenizer", labels)  # a processor carries its tokenizer
    if hasattr(tokenizer, "convert_ids_to_tokens") and ids is not None:
        return [str(t) for t in tokenizer.convert_ids_to_tokens(ids.tolist())]
    if isinstance(labels, tuple) and len(labels) == 2 and not isinstance(labels[0], str):
        return list(labels[side])  # (source labels, target labels)
    if isinstance(labels, (list, tuple)) and side == 0:
        return list(labels)
    return None if ids is None else [str(i) for i in ids.tolist()]


def _kept(mask: torch.Tensor | None, length: int) -> torch.Tensor:
    """Positions of batch element 0 that are real tokens (mask 1), so padding is left out of the plots."""
    if mask is None:
        return torch.arange(length)
    return torch.nonzero(mask[0].bool(), as_tuple=False).flatten().cpu()


def _trim(attentions, queries: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Batch element 0 of every layer, restricted to the kept queries and keys: (1, H, T', S') each."""
    return tuple(a[:1].cpu()[:, :, queries][:, :, :, keys] for a in attentions)


def _family(model, outputs, inputs) -> str:
    if getattr(model.config, "is_encoder_decoder", False) or getattr(outputs, "encoder_attentions", None) is not None:
        return "encoder-decoder"  # lecture_transformer, marian, ... (not lecture_transformer's causal LM)
    if getattr(model.config, "model_type", "") in VISION_TYPES or "pixel_values" in inputs:
        return "vision"
    return "text"


def _has_weights(outputs) -> bool:
    attentions = getattr(outputs, "encoder_attentions", None) or getattr(outputs, "attentions", None)
    return bool(attentions) and isinstance(attentions[0], torch.Tensor)


def _run_with_attentions(model, inputs: dict):
    """The model's outputs with attention weights, in eval mode without gradients.

    transformers' own models return no weights from their fused (SDPA) kernels: those run once more
    with the eager implementation, and get their own implementation (and training mode) back after.
    """
    was_training, implementation = model.training, getattr(model.config, "_attn_implementation", "eager")
    model.eval()
    try:
        with torch.no_grad():
            outputs = model(**inputs, output_attentions=True, return_dict=True)
            if not _has_weights(outputs) and implementation != "eager":
                model.set_attn_implementation("eager")
                outputs = model(**inputs, output_attentions=True, return_dict=True)
    finally:
        if getattr(model.config, "_attn_implementation", implementation) != implementation:
            model.set_attn_implementation(implementation)
        model.train(was_training)
    return outputs


def _patch_grid(config, pixel_values: torch.Tensor, length: int) -> tuple[int, int]:
    """(rows, columns) of patches: the image side over patch_size, or a square of the non-[CLS] tokens."""
    patch = getattr(config, "patch_size", None)
    if patch and (pixel_values.shape[-2] // patch) * (pixel_values.shape[-1] // patch) < length:
        return pixel_values.shape[-2] // patch, pixel_values.shape[-1] // patch
    side = math.isqrt(length - 1)
    return side, side


def _display_image(pixel_values: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) normalized pixels -> (H, W, 3) in [0, 1] of element 0, each channel stretched to its range."""
    image = pixel_values[0].detach().float().cpu()  # (C, H, W)
    low = image.amin(dim=(1, 2), keepdim=True)
    high = image.amax(dim=(1, 2), keepdim=True)
    image = ((image - low) / (high - low).clamp_min(1e-12)).permute(1, 2, 0).numpy()  # (H, W, C)
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[:, :, :3]


def attention_maps(model, inputs: dict, tokenizer_or_labels, output_dir: str | Path, prefix: str = "") -> list[Path]:
    """Run ``model`` on ``inputs`` with ``output_attentions=True`` and plot every attention it returns.

    ``tokenizer_or_labels``: a tokenizer (or processor) to turn ids into tokens, a list of labels
    for the one input sequence, a pair (source labels, target labels) for an encoder-decoder, or
    None (ids as labels; ViT tokens are always "CLS", "p0", ...). Encoder-decoders need
    ``decoder_input_ids`` in ``inputs``. Files are ``<prefix><kind>_layer<i>.png`` in ``output_dir``
    (kinds: encoder_self_attention, decoder_self_attention, cross_attention, self_attention) and,
    for ViT, ``<prefix>cls_to_patches.png``. Padding (attention_mask 0) is left out.
    """
    if not isinstance(inputs, dict):
        raise ValueError(f"inputs must be a dict of model inputs (input_ids=..., ...), got {type(inputs).__name__}")
    outputs = _run_with_attentions(model, inputs)
    family = _family(model, outputs, inputs)
    output_dir = Path(output_dir)

    def plot(kind, attentions, tokens_q, tokens_k, title):
        return plot_attention(attentions, tokens_q, tokens_k, output_dir / f"{prefix}{kind}.png", title=title)

    if family == "encoder-decoder":
        if "decoder_input_ids" not in inputs:
            raise ValueError("inputs must hold decoder_input_ids for an encoder-decoder model (the target tokens)")
        source, target = inputs["input_ids"], inputs["decoder_input_ids"]
        keep_src = _kept(inputs.get("attention_mask"), source.shape[1])
        keep_tgt = _kept(inputs.get("decoder_attention_mask"), target.shape[1])
        src = _labels_for(source[0, keep_src], tokenizer_or_labels, 0)
        tgt = _labels_for(target[0, keep_tgt], tokenizer_or_labels, 1)
        return [
            *plot("encoder_self_attention", _trim(outputs.encoder_attentions, keep_src, keep_src), src, src,
                  "Encoder self-attention"),
            *plot("decoder_self_attention", _trim(outputs.decoder_attentions, keep_tgt, keep_tgt), tgt, tgt,
                  "Decoder masked self-attention"),
            *plot("cross_attention", _trim(outputs.cross_attentions, keep_tgt, keep_src), tgt, src,
                  "Cross-attention (decoder queries x source keys)"),
        ]

    attentions = getattr(outputs, "attentions", None)
    if not attentions:
        raise ValueError(f"{type(model).__name__} returned no attentions with output_attentions=True")
    if family == "vision":
        pixel_values = inputs["pixel_values"]
        rows, columns = _patch_grid(model.config, pixel_values, attentions[0].shape[-1])
        tokens = ["CLS"] + [f"p{i}" for i in range(rows * columns)]
        tokens += [f"extra{i}" for i in range(attentions[0].shape[-1] - len(tokens))]  # e.g. a distillation token
        files = plot("self_attention", tuple(a[:1].cpu() for a in attentions), tokens, tokens,
                     "ViT self-attention ([CLS] and patches p0, p1, ... row by row)")
        cls_file = output_dir / f"{prefix}cls_to_patches.png"
        return [*files, plot_cls_to_patches(attentions, (rows, columns), cls_file, _display_image(pixel_values))]

    input_ids = inputs.get("input_ids")
    length = attentions[0].shape[-1]
    keep = _kept(inputs.get("attention_mask"), length)
    tokens = _labels_for(input_ids[0, keep] if input_ids is not None else None, tokenizer_or_labels, 0)
    if tokens is None:
        tokens = [str(i) for i in range(len(keep))]
    return plot("self_attention", _trim(attentions, keep, keep), tokens, tokens, "Self-attention")
