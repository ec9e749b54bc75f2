"""transformers' Marian models <-> hf_lecture's encoder-decoder Transformer.

Marian is the paper's architecture (post-LN, sinusoidal positions, shared embeddings) with three
differences that our config expresses as switches: its sinusoids are laid out as two halves
(``sinusoidal_layout="halves"``), it does not scale embeddings by default (``scale_embedding``), and
it adds a ``final_logits_bias`` to the output logits (``add_final_logits_bias=True``).
"""

from __future__ import annotations

import copy
import re

import torch
from transformers import MarianConfig, MarianForCausalLM, MarianModel, MarianMTModel

from ..models.configuration_transformer import LectureTransformerConfig
from ..models.modeling_transformer import (
    LectureTransformerForCausalLM,
    LectureTransformerForConditionalGeneration,
    LectureTransformerModel,
)

# Config fields that have the same name and meaning on both sides.
SHARED_FIELDS = (
    "vocab_size", "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
    "decoder_attention_heads", "encoder_ffn_dim", "decoder_ffn_dim", "activation_function", "dropout",
    "attention_dropout", "activation_dropout", "max_position_embeddings", "scale_embedding",
    "share_encoder_decoder_embeddings", "tie_word_embeddings", "init_std", "pad_token_id", "bos_token_id",
    "eos_token_id", "decoder_start_token_id", "is_encoder_decoder",
)  # fmt: skip

# Marian module names -> ours, inside one layer. Everything else keeps its name.
LAYER_RENAMES = {"self_attn.out_proj": "self_attn.o_proj", "encoder_attn.out_proj": "encoder_attn.o_proj",
                 "fc1": "mlp.fc1", "fc2": "mlp.fc2"}  # fmt: skip


def _config_from_marian(config: MarianConfig) -> LectureTransformerConfig:
    if config.decoder_vocab_size not in (None, config.vocab_size):
        raise ValueError("decoder_vocab_size differs from vocab_size: hf_lecture uses one vocabulary for both sides")
    fields = {name: getattr(config, name) for name in SHARED_FIELDS}
    return LectureTransformerConfig(
        **fields,
        position_embedding_type="sinusoidal",
        sinusoidal_layout="halves",
        normalize_before=False,
        layer_norm_eps=1e-5,  # Marian's nn.LayerNorm default
        add_final_logits_bias=True,
        attn_implementation=config._attn_implementation,
    )


def _rename_key(key: str) -> str | None:
    """A Marian state-dict key -> ours (None: not a weight of ours, e.g. the sinusoid table)."""
    if "embed_positions" in key:
        return None  # sinusoids are rebuilt, not stored
    key = re.sub(r"(encoder|decoder)\.embed_tokens", r"\1.embeddings.embed_tokens", key)
    for old, new in LAYER_RENAMES.items():
        key = re.sub(rf"(layers\.\d+\.){re.escape(old)}\.", rf"\g<1>{new}.", key)
    return key


def _load(ours: torch.nn.Module, marian_state: dict[str, torch.Tensor], prefix: tuple[str, str] = ("", "")) -> None:
    """Copy Marian's weights into ours, renaming keys; ``prefix`` rewrites a leading path (old, new)."""
    state = {}
    for key, tensor in marian_state.items():
        new_key = _rename_key(key)
        if new_key is None:
            continue
        if new_key.startswith(prefix[0]):
            new_key = prefix[1] + new_key[len(prefix[0]) :]
        state[new_key] = tensor
    missing, unexpected = ours.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"weights do not line up: missing {missing[:5]}, unexpected {unexpected[:5]}")


def marian_to_lecture(model: torch.nn.Module) -> torch.nn.Module:
    """MarianMTModel / MarianModel / MarianForCausalLM -> the hf_lecture model with the same weights."""
    config = _config_from_marian(model.config)
    state = model.state_dict()
    if isinstance(model, MarianMTModel):
        ours = LectureTransformerForConditionalGeneration(config)
        _load(ours, state)
    elif isinstance(model, MarianModel):
        ours = LectureTransformerModel(config)
        _load(ours, state)
    elif isinstance(model, MarianForCausalLM):
        config.is_encoder_decoder = False
        config.add_final_logits_bias = False  # MarianForCausalLM has no logits bias
        ours = LectureTransformerForCausalLM(config)
        # Marian's decoder-only model carries cross-attention weights it never uses: ours has none.
        state = {k: v for k, v in state.items() if "encoder_attn" not in k}
        _load(ours, state, prefix=("model.decoder.", "model."))
    else:
        raise ValueError(f"expected MarianMTModel, MarianModel or MarianForCausalLM, got {type(model).__name__}")
    if getattr(model, "generation_config", None) is not None and hasattr(ours, "generation_config"):
        ours.generation_config = copy.deepcopy(model.generation_config)
    return ours.to(model.dtype).eval()


def lecture_to_marian(model: torch.nn.Module) -> torch.nn.Module:
    """The other way: only configurations Marian can express (halves layout, post-LN, sinusoids)."""
    config = model.config
    if config.position_embedding_type != "sinusoidal" or config.sinusoidal_layout != "halves" or config.normalize_before:
        raise ValueError(
            "to_transformers: Marian needs position_embedding_type='sinusoidal', sinusoidal_layout='halves' "
            "and normalize_before=False"
        )
    marian_config = MarianConfig(**{name: getattr(config, name) for name in SHARED_FIELDS})
    classes = {
        "LectureTransformerForConditionalGeneration": MarianMTModel,
        "LectureTransformerModel": MarianModel,
    }
    if type(model).__name__ not in classes:
        raise ValueError(f"to_transformers: no Marian counterpart for {type(model).__name__}")
    theirs = classes[type(model).__name__](marian_config)
    ours_to_theirs = {_rename_key(k): k for k in theirs.state_dict() if _rename_key(k) is not None}
    state = {ours_to_theirs[k]: v for k, v in model.state_dict().items() if k in ours_to_theirs}
    theirs.load_state_dict(state, strict=False)
    if getattr(model, "final_logits_bias", None) is None and hasattr(theirs, "final_logits_bias"):
        theirs.final_logits_bias.zero_()
    return theirs.eval()
