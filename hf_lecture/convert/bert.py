"""transformers' BERT models <-> hf_lecture's BERT.

The architectures are the same; only the names differ. transformers splits a layer into
``attention.self.{query,key,value}``, ``attention.output.{dense,LayerNorm}``, ``intermediate.dense``
and ``output.{dense,LayerNorm}``; ours is the shared ``EncoderLayer`` with ``self_attn.{q,k,v,o}_proj``,
``self_attn_layer_norm``, ``mlp.fc1``, ``mlp.fc2`` and ``final_layer_norm``.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import transformers
from transformers import (
    AutoConfig,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
)

from ..models.configuration_bert import LectureBertConfig
from ..models.modeling_bert import (
    LectureBertForMaskedLM,
    LectureBertForNextSentencePrediction,
    LectureBertForPreTraining,
    LectureBertForSequenceClassification,
    LectureBertForTokenClassification,
    LectureBertModel,
)

# Config fields that have the same name and meaning on both sides.
SHARED_FIELDS = (
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
    "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
    "initializer_range", "layer_norm_eps", "pad_token_id", "classifier_dropout", "tie_word_embeddings",
    "id2label", "label2id", "problem_type",
)  # fmt: skip

# transformers class -> ours. The prefixes ("bert." in the task models, none in BertModel) agree.
CLASSES = {
    BertModel: LectureBertModel,
    BertForPreTraining: LectureBertForPreTraining,
    BertForMaskedLM: LectureBertForMaskedLM,
    BertForNextSentencePrediction: LectureBertForNextSentencePrediction,
    BertForSequenceClassification: LectureBertForSequenceClassification,
    BertForTokenClassification: LectureBertForTokenClassification,
}

# (transformers' name, ours), applied in order with re.sub to a state-dict key.
RENAMES = [
    (r"embeddings\.word_embeddings\.", "embeddings.embed_tokens."),
    (r"embeddings\.position_embeddings\.", "embeddings.embed_positions."),
    (r"embeddings\.token_type_embeddings\.", "embeddings.embed_token_types."),
    (r"embeddings\.LayerNorm\.", "embeddings.layer_norm."),
    (r"encoder\.layer\.(\d+)\.attention\.self\.query\.", r"layers.\1.self_attn.q_proj."),
    (r"encoder\.layer\.(\d+)\.attention\.self\.key\.", r"layers.\1.self_attn.k_proj."),
    (r"encoder\.layer\.(\d+)\.attention\.self\.value\.", r"layers.\1.self_attn.v_proj."),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.", r"layers.\1.self_attn.o_proj."),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.", r"layers.\1.self_attn_layer_norm."),
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.", r"layers.\1.mlp.fc1."),
    (r"encoder\.layer\.(\d+)\.output\.dense\.", r"layers.\1.mlp.fc2."),
    (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.", r"layers.\1.final_layer_norm."),
    (r"cls\.predictions\.transform\.dense\.", "lm_head.dense."),
    (r"cls\.predictions\.transform\.LayerNorm\.", "lm_head.layer_norm."),
    (r"cls\.predictions\.decoder\.", "lm_head.decoder."),
    (r"cls\.seq_relationship\.", "nsp_head."),
]
# The MLM bias sits twice in transformers' state dict (tied to the decoder's); the decoder's is the one used.
MLM_BIAS = "cls.predictions.bias"


def _rename_key(key: str) -> str | None:
    """A transformers BERT state-dict key -> ours (None: a duplicate we do not keep)."""
    if key.endswith(MLM_BIAS):
        return None
    for pattern, replacement in RENAMES:
        key = re.sub(pattern, replacement, key)
    return key


def _config_from_bert(config: BertConfig) -> LectureBertConfig:
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        raise ValueError("from_transformers: BERT as a decoder (is_decoder / add_cross_attention) is not supported")
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        raise ValueError("from_transformers: only BERT with absolute (learned) position embeddings is supported")
    fields = {name: getattr(config, name) for name in SHARED_FIELDS}
    implementation = config._attn_implementation if config._attn_implementation in ("eager", "sdpa") else "sdpa"
    return LectureBertConfig(
        **fields, position_embedding_type="absolute", pooling="cls", attn_implementation=implementation
    )


def bert_to_lecture(model: torch.nn.Module) -> torch.nn.Module:
    """BertModel, BertForPreTraining, BertForMaskedLM, BertForNextSentencePrediction,
    BertForSequenceClassification or BertForTokenClassification -> ours, same weights, in eval mode."""
    ours_class = CLASSES.get(type(model))
    if ours_class is None:
        raise ValueError(
            f"from_transformers: no BERT converter for {type(model).__name__}; "
            f"supported: {', '.join(c.__name__ for c in CLASSES)}"
        )
    config = _config_from_bert(model.config)
    if ours_class is LectureBertModel:
        ours = LectureBertModel(config, add_pooling_layer=model.pooler is not None)
    else:
        ours = ours_class(config)
    state = {}
    for key, tensor in model.state_dict().items():
        new_key = _rename_key(key)
        if new_key is not None:
            state[new_key] = tensor
    missing, unexpected = ours.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"weights do not line up: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return ours.to(model.dtype).eval()


def lecture_to_bert(model: torch.nn.Module) -> torch.nn.Module:
    """The other way: ours -> transformers' BERT class of the same task, same weights, in eval mode."""
    theirs_class = {ours: theirs for theirs, ours in CLASSES.items()}.get(type(model))
    if theirs_class is None:
        raise ValueError(f"to_transformers: no BERT counterpart for {type(model).__name__}")
    config = model.config
    if config.position_embedding_type != "absolute":
        raise ValueError("to_transformers: BERT needs position_embedding_type='absolute'")
    if theirs_class is BertForSequenceClassification and config.pooling != "cls":
        raise ValueError("to_transformers: BertForSequenceClassification uses the pooled [CLS]; needs pooling='cls'")
    bert_config = BertConfig(**{name: getattr(config, name) for name in SHARED_FIELDS})
    if theirs_class is BertModel:
        theirs = BertModel(bert_config, add_pooling_layer=model.pooler is not None)
    else:
        theirs = theirs_class(bert_config)
    ours_state = model.state_dict()
    state = {}
    for key in theirs.state_dict():
        source = _rename_key(key[: -len(MLM_BIAS)] + "cls.predictions.decoder.bias" if key.endswith(MLM_BIAS) else key)
        state[key] = ours_state[source]
    theirs.load_state_dict(state)
    return theirs.to(next(model.parameters()).dtype).eval()


def convert_checkpoint(src: str | Path, dst: str | Path) -> torch.nn.Module:
    """A transformers BERT folder (weights + tokenizer) -> a lecture_bert folder with the same tokenizer.

    The task class is read from the folder's ``architectures`` (BertModel when it names none we convert).
    Returns the converted model.
    """
    names = {cls.__name__ for cls in CLASSES}
    architectures = getattr(AutoConfig.from_pretrained(src), "architectures", None) or []
    name = next((a for a in architectures if a in names), "BertModel")
    model = bert_to_lecture(getattr(transformers, name).from_pretrained(src))
    model.save_pretrained(dst)
    AutoTokenizer.from_pretrained(src).save_pretrained(dst)
    return model


__all__ = ["bert_to_lecture", "lecture_to_bert", "convert_checkpoint"]
