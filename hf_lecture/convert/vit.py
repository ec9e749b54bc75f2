"""transformers' ViT models <-> hf_lecture's ViT.

The two compute the same function; only names and one shape differ:
- transformers embeds patches with a strided ``Conv2d`` (weight (D, C, P, P)); ours flattens each patch and
  applies a ``Linear`` (weight (D, C*P*P)). The same numbers, reshaped.
- transformers calls a layer's parts ``attention`` / ``layernorm_before`` / ``layernorm_after``; the shared
  ``layers.EncoderLayer`` calls them ``self_attn`` / ``self_attn_layer_norm`` / ``final_layer_norm``.
- ``qkv_bias=False`` checkpoints have no q/k/v biases: ours get zeros there (the same function).
"""

from __future__ import annotations

import re

import torch
from transformers import ViTConfig, ViTForImageClassification, ViTModel

from ..models.configuration_vit import LectureViTConfig
from ..models.modeling_vit import LectureViTForImageClassification, LectureViTModel

# Config fields that have the same name and meaning on both sides.
SHARED_FIELDS = (
    "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
    "hidden_dropout_prob", "attention_probs_dropout_prob", "initializer_range", "layer_norm_eps",
    "num_channels", "pooler_output_size", "pooler_act",
)  # fmt: skip
LABEL_FIELDS = ("id2label", "label2id", "problem_type")

# transformers' names inside one layer -> ours. Everything else keeps its name.
LAYER_RENAMES = {
    "attention": "self_attn",
    "layernorm_before": "self_attn_layer_norm",
    "layernorm_after": "final_layer_norm",
}
PATCH_WEIGHT = "embeddings.patch_embeddings.projection.weight"


def _square(value, name: str) -> int:
    """ViTConfig allows (height, width) pairs; ours is square."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or value[0] != value[1]:
            raise ValueError(f"{name} must be square to convert to hf_lecture's ViT, got {value!r}")
        return int(value[0])
    return int(value)


def _config_from_vit(config: ViTConfig) -> LectureViTConfig:
    head_dim = getattr(config, "head_dim", None)
    if head_dim is not None and head_dim * config.num_attention_heads != config.hidden_size:
        raise ValueError(f"head_dim ({head_dim}) * num_attention_heads must equal hidden_size ({config.hidden_size})")
    fields = {name: getattr(config, name) for name in SHARED_FIELDS}
    labels = {name: getattr(config, name) for name in LABEL_FIELDS}
    return LectureViTConfig(
        **fields,
        **labels,
        image_size=_square(config.image_size, "image_size"),
        patch_size=_square(config.patch_size, "patch_size"),
        qkv_bias=True,  # zeros stand in for missing biases
        attn_implementation=config._attn_implementation,
    )


def _rename_key(key: str) -> str:
    """A transformers ViT state-dict key -> ours."""
    for old, new in LAYER_RENAMES.items():
        key = re.sub(rf"(layers\.\d+\.){old}\.", rf"\g<1>{new}.", key)
    return key


def _theirs_to_ours_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    ours = {}
    for key, tensor in state.items():
        if key.endswith(PATCH_WEIGHT):
            tensor = tensor.reshape(tensor.shape[0], -1)  # (D, C, P, P) -> (D, C*P*P): flatten each patch
        ours[_rename_key(key)] = tensor
    return ours


def vit_to_lecture(model: torch.nn.Module) -> torch.nn.Module:
    """ViTModel (pooler included where present) / ViTForImageClassification -> ours, same weights."""
    if isinstance(model, ViTForImageClassification):
        ours = LectureViTForImageClassification(_config_from_vit(model.config))
        vit = model.vit
    elif isinstance(model, ViTModel):
        vit = model
        ours = LectureViTModel(_config_from_vit(model.config), add_pooling_layer=model.pooler is not None)
    else:
        raise ValueError(f"expected ViTModel or ViTForImageClassification, got {type(model).__name__}")
    if getattr(vit.embeddings, "mask_token", None) is not None:
        raise ValueError("ViTModel(use_mask_token=True) is for masked image modelling, which hf_lecture's ViT lacks")

    state = _theirs_to_ours_state({k: v for k, v in model.state_dict().items() if "mask_token" not in k})
    missing, unexpected = ours.load_state_dict(state, strict=False)
    if unexpected or any(not re.search(r"self_attn\.[qkv]_proj\.bias$", k) for k in missing):
        raise ValueError(f"weights do not line up: missing {missing[:5]}, unexpected {unexpected[:5]}")
    with torch.no_grad():
        for key in missing:  # qkv_bias=False: the biases the checkpoint lacks are zero
            ours.get_parameter(key).zero_()
    return ours.to(model.dtype).eval()


def lecture_to_vit(model: torch.nn.Module) -> torch.nn.Module:
    """The other way: LectureViTModel / LectureViTForImageClassification -> transformers' model."""
    config = model.config
    vit_config = ViTConfig(
        **{name: getattr(config, name) for name in SHARED_FIELDS},
        **{name: getattr(config, name) for name in LABEL_FIELDS},
        image_size=config.image_size,
        patch_size=config.patch_size,
        qkv_bias=True,
    )
    vit_config._attn_implementation = config._attn_implementation
    if isinstance(model, LectureViTForImageClassification):
        theirs = ViTForImageClassification(vit_config)
    elif isinstance(model, LectureViTModel):
        theirs = ViTModel(vit_config, add_pooling_layer=model.pooler is not None)
    else:
        raise ValueError(f"to_transformers: no ViT counterpart for {type(model).__name__}")
    ours_state = model.state_dict()
    state = {}
    for key, tensor in theirs.state_dict().items():
        value = ours_state[_rename_key(key)]
        state[key] = value.reshape(tensor.shape)  # the patch Linear (D, C*P*P) -> Conv2d (D, C, P, P)
    theirs.load_state_dict(state, strict=True)
    return theirs.to(model.dtype).eval()


__all__ = ["vit_to_lecture", "lecture_to_vit"]
