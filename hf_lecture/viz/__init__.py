"""Pictures of what the models compute and how they trained, written as PNG files.

- ``plot_positional_encoding``: the sinusoid table of "Attention Is All You Need", 3.5
- ``plot_attention`` / ``attention_maps``: attention weights per layer and head, tokens on the axes
- ``plot_loss_curves``: training and evaluation losses of a ``Trainer`` run

The ``hf-lecture viz`` command (``add_viz_arguments`` / ``run_viz``)::

    hf-lecture viz positions --output-dir D [--num-positions 100 --d-model 128 --layout interleaved]
    hf-lecture viz attention MODEL_DIR --text "..." [--text-pair "..." | --target "..." | --image PATH] --output-dir D
    hf-lecture viz curves TRAINER_STATE_OR_DIR --output-dir D
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .attention import attention_maps, plot_attention, plot_cls_to_patches
from .curves import plot_loss_curves, read_log_history
from .positions import plot_positional_encoding

__all__ = [
    "add_viz_arguments",
    "attention_maps",
    "load_for_attention",
    "plot_attention",
    "plot_cls_to_patches",
    "plot_loss_curves",
    "plot_positional_encoding",
    "read_log_history",
    "run_viz",
]

MAX_GENERATED_TOKENS = 32  # length of the translation drawn when an encoder-decoder gets no --target


def add_viz_arguments(subparsers) -> argparse.ArgumentParser:
    """Add the ``viz`` command, with its ``positions``, ``attention`` and ``curves`` sub-commands."""
    viz = subparsers.add_parser("viz", help="write attention maps, positional encodings or loss curves as PNG")
    kinds = viz.add_subparsers(dest="viz_command", required=True, metavar="{positions,attention,curves}")

    positions = kinds.add_parser("positions", help="the sinusoidal positional-encoding matrix")
    positions.add_argument("--num-positions", type=int, default=100, help="rows: positions 0 .. N-1")
    positions.add_argument("--d-model", type=int, default=128, help="columns: embedding dimensions")
    positions.add_argument("--layout", choices=["interleaved", "halves"], default="interleaved",
                           help="sin/cos interleaved (the paper) or all sines then all cosines (Marian)")

    attention = kinds.add_parser("attention", help="attention maps of a saved model on one input")
    attention.add_argument("model_dir", help="a save_pretrained folder, with its tokenizer or image processor")
    attention.add_argument("--text", help="input text (BERT, encoder-decoder source)")
    sides = attention.add_mutually_exclusive_group()
    sides.add_argument("--text-pair", help="BERT: second segment (sentence B)")
    sides.add_argument("--target", help="encoder-decoder: target text (default: the model's own greedy output)")
    sides.add_argument("--image", help="ViT: path of an image file")

    curves = kinds.add_parser("curves", help="loss curves of a Trainer run")
    curves.add_argument("trainer_state", help="trainer_state.json, a checkpoint folder, or a Trainer output folder")

    for parser in (positions, attention, curves):
        parser.add_argument("--output-dir", required=True, help="folder the PNG files are written to")
    viz.set_defaults(func=run_viz)
    return viz


def load_for_attention(model_dir: str | Path, text=None, text_pair=None, target=None, image=None):
    """Load a saved model with the Auto classes and build its inputs: ``(model, inputs, tokenizer_or_None)``.

    The family is read from the config: encoder-decoders load with AutoModelForSeq2SeqLM (and decode
    ``target``, or their own greedy translation of ``text``), vision models with
    AutoModelForImageClassification and AutoImageProcessor (``image``: a path or a PIL image),
    everything else with AutoModel and AutoTokenizer (``text``, optional ``text_pair``).
    """
    import torch
    from transformers import (
        AutoConfig,
        AutoImageProcessor,
        AutoModel,
        AutoModelForCausalLM,
        AutoModelForImageClassification,
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
    )

    from .attention import VISION_TYPES  # (importing hf_lecture registered the lecture_* types with the Auto classes)

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise ValueError(f"model_dir {str(model_dir)!r} has no config.json: give a folder written by save_pretrained")
    config = AutoConfig.from_pretrained(model_dir)
    load = {"attn_implementation": "eager"}  # the fused kernels do not return attention weights

    if config.model_type in VISION_TYPES:
        if image is None:
            raise ValueError(f"--image is required for a {config.model_type} model")
        from PIL import Image

        picture = Image.open(image).convert("RGB") if isinstance(image, (str, Path)) else image.convert("RGB")
        processor = AutoImageProcessor.from_pretrained(model_dir)
        model = AutoModelForImageClassification.from_pretrained(model_dir, **load)
        return model, {"pixel_values": processor(images=picture, return_tensors="pt")["pixel_values"]}, None

    if not text:
        raise ValueError(f"--text is required for a {config.model_type} model")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if getattr(config, "is_encoder_decoder", False):
        model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, **load).eval()
        inputs = dict(tokenizer(text, return_tensors="pt"))
        if target is not None:
            labels = tokenizer(text_target=target, return_tensors="pt")["input_ids"]  # (1, T)
            start = torch.full_like(labels[:, :1], config.decoder_start_token_id)
            inputs["decoder_input_ids"] = torch.cat([start, labels[:, :-1]], dim=1)  # teacher forcing: shifted right
        else:
            # The drawn decoder input (start token + output) must fit the decoder's positions.
            limit = min(MAX_GENERATED_TOKENS, getattr(config, "max_position_embeddings", 1 << 30) - 1)
            with torch.no_grad():
                generated = model.generate(**inputs, max_new_tokens=limit, num_beams=1, do_sample=False)
            inputs["decoder_input_ids"] = generated  # (1, T): starts with the decoder start token
        return model, inputs, tokenizer
    architectures = getattr(config, "architectures", None) or []
    auto_class = AutoModelForCausalLM if any(a.endswith("ForCausalLM") for a in architectures) else AutoModel
    model = auto_class.from_pretrained(model_dir, **load)
    encoded = tokenizer(text, text_pair, return_tensors="pt") if text_pair else tokenizer(text, return_tensors="pt")
    return model, dict(encoded), tokenizer


def run_viz(args: argparse.Namespace) -> list[Path]:
    """Carry out one ``hf-lecture viz`` sub-command; returns the PNG files written."""
    output_dir = Path(args.output_dir)
    if args.viz_command == "positions":
        return [
            plot_positional_encoding(
                output_dir / "positional_encoding.png", args.num_positions, args.d_model, args.layout
            )
        ]
    if args.viz_command == "curves":
        return [plot_loss_curves(args.trainer_state, output_dir / "loss_curves.png")]
    if args.viz_command == "attention":
        model, inputs, tokenizer = load_for_attention(
            args.model_dir, text=args.text, text_pair=args.text_pair, target=args.target, image=args.image
        )
        return attention_maps(model, inputs, tokenizer, output_dir)
    raise ValueError(f"viz: unknown sub-command {args.viz_command!r}; choose positions, attention or curves")
