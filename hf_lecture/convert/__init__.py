"""Checkpoint converters between transformers' own models and hf_lecture's.

``from_transformers(model)`` takes a transformers Marian*, Bert* or ViT* model and returns the
hf_lecture model of the same architecture with the same weights. That the two then give the same
outputs (to 1e-5) is the proof that the from-scratch code computes what the papers describe.
"""

from __future__ import annotations

from torch import nn


def from_transformers(model: nn.Module) -> nn.Module:
    """transformers MarianMTModel / MarianModel / MarianForCausalLM, Bert*, ViT*  ->  the hf_lecture model."""
    name = type(model).__name__
    if name.startswith("Marian"):
        from .marian import marian_to_lecture

        return marian_to_lecture(model)
    if name.startswith("Bert"):
        from .bert import bert_to_lecture

        return bert_to_lecture(model)
    if name.startswith("ViT"):
        from .vit import vit_to_lecture

        return vit_to_lecture(model)
    raise ValueError(
        f"from_transformers: no converter for {name}; supported: Marian*, Bert* and ViT* models of transformers"
    )


def to_transformers(model: nn.Module) -> nn.Module:
    """The other way: an hf_lecture model -> transformers' model of the same architecture."""
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type == "lecture_transformer":
        from .marian import lecture_to_marian

        return lecture_to_marian(model)
    if model_type == "lecture_bert":
        from .bert import lecture_to_bert

        return lecture_to_bert(model)
    if model_type == "lecture_vit":
        from .vit import lecture_to_vit

        return lecture_to_vit(model)
    raise ValueError(f"to_transformers: expected an hf_lecture model, got {type(model).__name__}")


__all__ = ["from_transformers", "to_transformers"]
