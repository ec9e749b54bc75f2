"""The inventory of bad input: every kind of mistake a user can make, walked through every model family
and the command line. Each one is a clear ValueError (naming the field or argument and the rule) or a
correct, finite result; never a NaN, a hang, or a bare IndexError / RuntimeError from inside torch.

The family test modules check many of these cases next to the code they exercise; this table is the
one place that lists them all (``BAD_INPUTS``, ``BAD_CONFIGS``, and the command line's ``BAD_INPUT``
from tests/test_cli.py, run here too). Property tests (hypothesis) then try random config values and
input shapes: a model either builds and runs with finite outputs, or raises a ValueError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hf_lecture import (
    LectureBertConfig,
    LectureBertForMaskedLM,
    LectureBertForNextSentencePrediction,
    LectureBertForPreTraining,
    LectureBertForSequenceClassification,
    LectureBertForTokenClassification,
    LectureBertModel,
    LectureTransformerConfig,
    LectureTransformerForCausalLM,
    LectureTransformerForConditionalGeneration,
    LectureTransformerModel,
    LectureViTConfig,
    LectureViTForImageClassification,
    LectureViTModel,
)

from . import test_cli
from .test_bert import TINY as BERT_TINY
from .test_bert import tiny_config as bert_config
from .test_cli import bad_files, run_main  # noqa: F401  (bad_files is a fixture)
from .test_transformer import TINY as TRANSFORMER_TINY
from .test_transformer import tiny_config as transformer_config
from .test_vit import TINY as VIT_TINY
from .test_vit import tiny_config as vit_config


def long(*shape, low=3, high=50) -> torch.Tensor:
    return torch.randint(low, high, shape)


# ------------------------------------------------------------------ the models the table runs on


def seq2seq():
    return LectureTransformerForConditionalGeneration(transformer_config()).eval()  # vocab 50, 64 positions


def causal_lm():
    return LectureTransformerForCausalLM(transformer_config(is_encoder_decoder=False)).eval()


def bert():
    return LectureBertForPreTraining(bert_config()).eval()  # vocab 60, 32 positions, 2 segments


def bert_head(cls, **overrides):
    return lambda: cls(bert_config(**overrides)).eval()


def vit():
    return LectureViTForImageClassification(vit_config(num_labels=3)).eval()  # 3 x 8 x 8 images, patches of 2


@dataclass
class Bad:
    """One bad input: ``run(model)`` either raises a ValueError matching ``error`` or, with ``error=None``,
    returns a tensor (or a tuple of tensors) that must be finite and pass ``check``."""

    name: str
    model: Callable
    run: Callable
    error: str | None
    check: Callable = lambda result: True


def s2s_call(**inputs):
    inputs.setdefault("decoder_input_ids", long(inputs["input_ids"].shape[0] or 1, 2))
    return lambda model: model(**inputs).logits


def padded_rows(batch=2, length=6, high=50):
    ids, mask = long(batch, length, high=high), torch.ones(batch, length, dtype=torch.long)
    mask[1, :] = 0  # row 1 is all padding
    return ids.masked_fill(mask == 0, 0), mask


IDS, MASK = padded_rows()
BERT_IDS, BERT_MASK = padded_rows(high=60)

BAD_INPUTS = [
    # ---------------- encoder-decoder Transformer
    Bad("s2s: input id >= vocab_size", seq2seq, s2s_call(input_ids=torch.tensor([[3, 50]])), r"input_ids must be in \[0, vocab_size=50\)"),
    Bad("s2s: negative input id", seq2seq, s2s_call(input_ids=torch.tensor([[3, -1]])), r"input_ids must be in \[0, vocab_size=50\)"),
    Bad("s2s: float input ids", seq2seq, s2s_call(input_ids=torch.tensor([[3.0, 4.0]])), "input_ids must hold integer token ids"),
    Bad("s2s: bool input ids", seq2seq, s2s_call(input_ids=torch.ones(1, 3, dtype=torch.bool)), "input_ids must hold integer token ids"),
    Bad("s2s: 1-D input ids", seq2seq, lambda m: m(long(5), decoder_input_ids=long(1, 2)), r"input_ids must have shape \(batch, sequence_length\)"),
    Bad("s2s: source longer than max_position_embeddings", seq2seq, s2s_call(input_ids=long(1, 65)), "65 tokens long .* more than max_position_embeddings=64"),
    Bad("s2s: empty batch", seq2seq, s2s_call(input_ids=long(0, 4)), "input_ids is empty"),
    Bad("s2s: empty sequences", seq2seq, s2s_call(input_ids=long(2, 0)), "input_ids is empty"),
    Bad("s2s: attention mask of the wrong shape", seq2seq, s2s_call(input_ids=long(1, 4), attention_mask=torch.ones(1, 5)), r"attention_mask must have shape \(1, 4\)"),
    Bad("s2s: 4-D attention mask", seq2seq, s2s_call(input_ids=long(1, 4), attention_mask=torch.ones(1, 1, 4, 4)), r"attention_mask must have shape \(1, 4\)"),
    Bad("s2s: float mask of other values", seq2seq, s2s_call(input_ids=long(1, 4), attention_mask=torch.full((1, 4), 0.5)), "attention_mask must contain only 0 .* and 1"),
    Bad("s2s: integer mask of other values", seq2seq, s2s_call(input_ids=long(1, 4), attention_mask=torch.full((1, 4), 2)), "attention_mask must contain only 0 .* and 1"),
    Bad("s2s: bool attention mask (accepted)", seq2seq, s2s_call(input_ids=IDS, attention_mask=MASK.bool()), None, lambda out: out.shape == (2, 2, 50)),
    Bad("s2s: all-padding source row", seq2seq, s2s_call(input_ids=IDS, attention_mask=MASK), None, lambda out: out.shape == (2, 2, 50)),
    Bad("s2s: all-padding target row", seq2seq, lambda m: m(IDS, decoder_input_ids=IDS, decoder_attention_mask=MASK).logits, None),
    Bad("s2s: decoder id >= vocab_size", seq2seq, s2s_call(input_ids=long(1, 4), decoder_input_ids=torch.tensor([[1, 99]])), r"decoder_input_ids must be in \[0, vocab_size=50\)"),
    Bad("s2s: decoder rows != source rows", seq2seq, s2s_call(input_ids=long(2, 4), decoder_input_ids=long(3, 2)), "decoder_input_ids has 3 rows but the source batch has 2"),
    Bad("s2s: decoder mask of the wrong shape", seq2seq, s2s_call(input_ids=long(2, 4), decoder_attention_mask=torch.ones(2, 3)), r"decoder_attention_mask must have shape \(2, 2\)"),
    Bad("s2s: neither decoder_input_ids nor labels", seq2seq, lambda m: m(long(1, 4)), r"decoder_input_ids \(or labels"),
    Bad("s2s: neither input_ids nor encoder_outputs", seq2seq, lambda m: m(decoder_input_ids=long(1, 2)), "input_ids .* or encoder_outputs must be given"),
    Bad("s2s: label id >= vocab_size", seq2seq, lambda m: m(long(1, 4), labels=torch.tensor([[1, 77]])).loss, r"labels must be in \[0, vocab_size=50\)"),
    Bad("s2s: float labels", seq2seq, lambda m: m(long(1, 4), labels=torch.ones(1, 3)).loss, "labels must hold integer token ids"),
    Bad("s2s: labels not the shape of decoder_input_ids", seq2seq, lambda m: m(long(2, 4), decoder_input_ids=long(2, 3), labels=long(2, 4)).loss, r"labels must have the shape of decoder_input_ids \(2, 3\)"),
    Bad("s2s: every label ignored (-100)", seq2seq, lambda m: m(long(2, 4), labels=torch.full((2, 3), -100)).loss, None, lambda loss: loss == 0),
    Bad("s2s generate: num_beams < num_return_sequences", seq2seq, lambda m: m.generate(long(1, 4), num_beams=2, num_return_sequences=3, max_new_tokens=2), r"num_return_sequences.*\(3\).*num_beams.*\(2\)"),
    Bad("s2s generate: num_beams = 0", seq2seq, lambda m: m.generate(long(1, 4), num_beams=0, max_new_tokens=2), "num_beams must be >= 1, got 0"),
    Bad("s2s generate: max_new_tokens = 0", seq2seq, lambda m: m.generate(long(1, 4), max_new_tokens=0), "max_new_tokens.* must be greater than 0"),
    Bad("s2s generate: max_length below the decoder start", seq2seq, lambda m: m.generate(long(1, 4), max_length=0), "max_length.* is set to 0"),
    Bad("s2s generate: longer than max_position_embeddings", seq2seq, lambda m: m.generate(long(1, 4), min_new_tokens=70, max_new_tokens=70), "more than max_position_embeddings=64"),
    Bad("causal: input id >= vocab_size", causal_lm, lambda m: m(torch.tensor([[3, 50]])).logits, r"input_ids must be in \[0, vocab_size=50\)"),
    Bad("causal: no input_ids", causal_lm, lambda m: m(attention_mask=torch.ones(1, 3)).logits, "input_ids must be given"),
    Bad("causal: labels not the shape of input_ids", causal_lm, lambda m: m(long(2, 5), labels=long(2, 4)).loss, r"labels must have the shape of input_ids \(2, 5\)"),
    Bad("causal: one-token rows with labels (nothing to predict)", causal_lm, lambda m: m(long(2, 1), labels=long(2, 1)).loss, None, lambda loss: loss == 0),
    Bad("causal generate: max_length below the prompt", causal_lm, lambda m: m.generate(long(1, 5), max_length=3), "Input length of input_ids is 5, but .max_length. is set to 3"),
    Bad("causal generate: sampling at temperature 0", causal_lm, lambda m: m.generate(long(1, 5), do_sample=True, temperature=0.0, max_new_tokens=2), "temperature.* strictly positive"),
    Bad("model: empty target batch", lambda: LectureTransformerModel(transformer_config()).eval(), lambda m: m(long(1, 4), decoder_input_ids=long(0, 2)).last_hidden_state, "decoder_input_ids has 0 rows but the source batch has 1"),
    Bad("causal: 1-D input ids", causal_lm, lambda m: m(long(5)).logits, r"input_ids must have shape \(batch, sequence_length\)"),
    Bad("causal: longer than max_position_embeddings", causal_lm, lambda m: m(long(1, 65)).logits, "65 tokens long .* more than max_position_embeddings=64"),
    Bad("causal: attention mask of the wrong shape", causal_lm, lambda m: m(long(1, 4), torch.ones(1, 3)).logits, r"^attention_mask must have shape \(1, 4\)"),
    # ---------------- BERT
    Bad("bert: input id >= vocab_size", bert, lambda m: m(torch.tensor([[3, 60]])).prediction_logits, r"input_ids must be in \[0, vocab_size=60\)"),
    Bad("bert: negative input id", bert, lambda m: m(torch.tensor([[3, -1]])).prediction_logits, r"input_ids must be in \[0, vocab_size=60\)"),
    Bad("bert: float input ids", bert, lambda m: m(torch.tensor([[3.0, 4.0]])).prediction_logits, "input_ids must hold integer token ids"),
    Bad("bert: 1-D input ids", bert, lambda m: m(long(4)).prediction_logits, r"input_ids must have shape \(batch, sequence_length\)"),
    Bad("bert: longer than max_position_embeddings", bert, lambda m: m(long(1, 33)).prediction_logits, "more than max_position_embeddings=32"),
    Bad("bert: empty batch", bert, lambda m: m(long(0, 4)).prediction_logits, "input_ids is empty"),
    Bad("bert: no input_ids", bert, lambda m: m(attention_mask=torch.ones(1, 4)).prediction_logits, "input_ids must be given"),
    Bad("bert: attention mask of the wrong shape", bert, lambda m: m(long(1, 4), torch.ones(1, 5)).prediction_logits, r"attention_mask must have shape \(1, 4\)"),
    Bad("bert: float mask of other values", bert, lambda m: m(long(1, 4), torch.full((1, 4), 0.5)).prediction_logits, "attention_mask must contain only 0 .* and 1"),
    Bad("bert: negative integer mask", bert, lambda m: m(long(1, 4), torch.full((1, 4), -1)).prediction_logits, "attention_mask must contain only 0 .* and 1"),
    Bad("bert: all-padding row", bert, lambda m: (lambda o: (o.prediction_logits, o.seq_relationship_logits))(m(BERT_IDS, BERT_MASK)), None),
    Bad("bert: token type id >= type_vocab_size", bert, lambda m: m(long(1, 4), token_type_ids=torch.tensor([[0, 1, 2, 0]])).prediction_logits, r"token_type_ids must be in \[0, type_vocab_size=2\)"),
    Bad("bert: negative token type id", bert, lambda m: m(long(1, 4), token_type_ids=torch.tensor([[0, -1, 0, 0]])).prediction_logits, r"token_type_ids must be in \[0, type_vocab_size=2\)"),
    Bad("bert: token type ids of the wrong shape", bert, lambda m: m(long(1, 4), token_type_ids=torch.zeros(1, 3, dtype=torch.long)).prediction_logits, r"token_type_ids must have the shape of input_ids \(1, 4\)"),
    Bad("bert: float token type ids", bert, lambda m: m(long(1, 4), token_type_ids=torch.zeros(1, 4)).prediction_logits, "token_type_ids must hold integer segment ids"),
    Bad("bert: MLM label >= vocab_size", bert, lambda m: m(long(1, 4), labels=torch.tensor([[-100, 77, -100, 5]])).loss, r"labels must be -100 \(ignored\) or in \[0, 60\)"),
    Bad("bert: MLM labels of the wrong shape", bert, lambda m: m(long(1, 4), labels=torch.full((1, 3), -100)).loss, r"labels must have shape \(1, 4\)"),
    Bad("bert: NSP label 2", bert, lambda m: m(long(1, 4), next_sentence_label=torch.tensor([2])).loss, r"next_sentence_label must be -100 \(ignored\) or in \[0, 2\)"),
    Bad("bert: NSP labels of the wrong shape", bert, lambda m: m(long(2, 4), next_sentence_label=torch.zeros(2, 2, dtype=torch.long)).loss, r"next_sentence_label must have shape \(2,\)"),
    Bad("bert: float NSP labels", bert, lambda m: m(long(2, 4), next_sentence_label=torch.zeros(2)).loss, "next_sentence_label must hold integer class ids"),
    Bad("bert: every MLM label ignored (-100)", bert, lambda m: m(long(2, 4), labels=torch.full((2, 4), -100)).loss, None, lambda loss: loss == 0),
    Bad("bert MLM: float labels", bert_head(LectureBertForMaskedLM), lambda m: m(long(1, 4), labels=torch.zeros(1, 4)).loss, "labels must hold integer class ids"),
    Bad("bert NSP: label 2", bert_head(LectureBertForNextSentencePrediction), lambda m: m(long(2, 4), labels=torch.tensor([0, 2])).loss, r"labels must be -100 \(ignored\) or in \[0, 2\)"),
    Bad("bert classifier: label >= num_labels", bert_head(LectureBertForSequenceClassification, num_labels=3), lambda m: m(long(2, 4), labels=torch.tensor([0, 3])).loss, r"labels must be -100 \(ignored\) or in \[0, 3\)"),
    Bad("bert classifier: negative label", bert_head(LectureBertForSequenceClassification, num_labels=3), lambda m: m(long(2, 4), labels=torch.tensor([0, -2])).loss, r"labels must be -100 \(ignored\) or in \[0, 3\)"),
    Bad("bert classifier: labels of the wrong shape", bert_head(LectureBertForSequenceClassification, num_labels=3), lambda m: m(long(2, 4), labels=torch.tensor([0, 1, 1])).loss, r"labels must have shape \(2,\)"),
    Bad("bert classifier: multi-label targets of the wrong shape", bert_head(LectureBertForSequenceClassification, num_labels=3), lambda m: m(long(2, 4), labels=torch.zeros(2, 2)).loss, r"labels must have one value per logit, shape \(2, 3\)"),
    Bad("bert regression: targets of the wrong shape", bert_head(LectureBertForSequenceClassification, num_labels=1), lambda m: m(long(2, 4), labels=torch.zeros(3)).loss, r"labels must have one value per logit, shape \(2, 1\)"),
    Bad("bert classifier: every label ignored", bert_head(LectureBertForSequenceClassification, num_labels=3), lambda m: m(long(2, 4), labels=torch.tensor([-100, -100])).loss, None, lambda loss: loss == 0),
    Bad("bert tokens: label >= num_labels", bert_head(LectureBertForTokenClassification, num_labels=3), lambda m: m(long(2, 4), labels=torch.full((2, 4), 3)).loss, r"labels must be -100 \(ignored\) or in \[0, 3\)"),
    Bad("bert tokens: labels of the wrong shape", bert_head(LectureBertForTokenClassification, num_labels=3), lambda m: m(long(2, 4), labels=torch.zeros(2, dtype=torch.long)).loss, r"labels must have shape \(2, 4\)"),
    Bad("bert trunk: all-padding row, mean of nothing", bert_head(LectureBertModel), lambda m: m(BERT_IDS, BERT_MASK).last_hidden_state, None),
    # ---------------- ViT
    Bad("vit: 1 channel for a 3-channel model", vit, lambda m: m(torch.randn(2, 1, 8, 8)).logits, r"num_channels=3 channels .* got 1"),
    Bad("vit: channels last (B, H, W, C)", vit, lambda m: m(torch.randn(2, 8, 8, 3)).logits, r"num_channels=3 channels .* got 8"),
    Bad("vit: wrong image size", vit, lambda m: m(torch.randn(2, 3, 16, 16)).logits, r"must be 8x8 \(image_size=8\), got 16x16"),
    Bad("vit: size not a multiple of the patch", vit, lambda m: m(torch.randn(1, 3, 9, 8), interpolate_pos_encoding=True).logits, "multiples of patch_size=2, got 9x8"),
    Bad("vit: uint8 pixels", vit, lambda m: m(torch.randint(0, 255, (2, 3, 8, 8), dtype=torch.uint8)).logits, "must be a floating-point tensor.*torch.uint8"),
    Bad("vit: one image without a batch axis", vit, lambda m: m(torch.randn(3, 8, 8)).logits, r"must have shape \(batch, num_channels=3, height, width\)"),
    Bad("vit: a numpy array", vit, lambda m: m(np.zeros((1, 3, 8, 8), dtype=np.float32)).logits, "pixel_values must be a tensor .* got ndarray"),
    Bad("vit: no pixel_values", vit, lambda m: m(None).logits, "pixel_values must be a tensor"),
    Bad("vit: empty batch", vit, lambda m: m(torch.randn(0, 3, 8, 8)).logits, "pixel_values is empty"),
    Bad("vit: NaN pixels", vit, lambda m: m(torch.full((1, 3, 8, 8), math.nan)).logits, "pixel_values contains NaN or infinite values"),
    Bad("vit: float64 pixels (accepted, cast)", vit, lambda m: m(torch.randn(2, 3, 8, 8, dtype=torch.float64)).logits, None, lambda out: out.dtype == torch.float32),
    Bad("vit: larger image with interpolate_pos_encoding (accepted)", vit, lambda m: m(torch.randn(1, 3, 12, 12), interpolate_pos_encoding=True).logits, None, lambda out: out.shape == (1, 3)),
    Bad("vit: label >= num_labels", vit, lambda m: m(torch.randn(2, 3, 8, 8), labels=torch.tensor([0, 3])).loss, r"labels must be class ids in \[0, num_labels=3\)"),
    Bad("vit: negative label", vit, lambda m: m(torch.randn(2, 3, 8, 8), labels=torch.tensor([0, -1])).loss, r"labels must be class ids in \[0, num_labels=3\)"),
    Bad("vit: one label for two images", vit, lambda m: m(torch.randn(2, 3, 8, 8), labels=torch.tensor([0])).loss, "labels must have one entry per image"),
    Bad("vit: a scalar label", vit, lambda m: m(torch.randn(2, 3, 8, 8), labels=torch.tensor(1)).loss, "labels must have one entry per image"),
    Bad("vit: multi-label targets of the wrong shape", vit, lambda m: m(torch.randn(2, 3, 8, 8), labels=torch.zeros(2, 2)).loss, r"labels must have one value per logit, shape \(2, 3\)"),
    Bad("vit: every label ignored (-100)", vit, lambda m: m(torch.randn(2, 3, 8, 8), labels=torch.tensor([-100, -100])).loss, None, lambda loss: loss == 0),
    Bad("vit trunk: wrong channel count", lambda: LectureViTModel(vit_config()).eval(), lambda m: m(torch.randn(1, 4, 8, 8)).last_hidden_state, r"num_channels=3 channels .* got 4"),
]  # fmt: skip


def _finite(result) -> bool:
    tensors = result if isinstance(result, tuple) else (result,)
    return all(bool(torch.isfinite(t).all()) for t in tensors)


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[case.name for case in BAD_INPUTS])
def test_bad_input_is_a_clear_error_or_a_correct_result(case):
    model = case.model()
    with torch.no_grad():
        if case.error is None:
            result = case.run(model)
            assert _finite(result), f"{case.name}: not finite"
            assert case.check(result), case.name
        else:
            with pytest.raises(ValueError, match=case.error):
                case.run(model)


# ------------------------------------------------------------------ config values, field by field

BAD_CONFIGS = [  # (config class, base fields, field, bad value, what the message says)
    *[(LectureTransformerConfig, TRANSFORMER_TINY, field, value, message) for field, value, message in [
        ("vocab_size", -1, "vocab_size must be a positive integer"),
        ("vocab_size", True, "vocab_size must be a positive integer"),
        ("d_model", 15, r"d_model \(15\) must be divisible by encoder_attention_heads"),
        ("d_model", 16.0, "d_model must be a positive integer"),
        ("encoder_layers", 0, "encoder_layers must be a positive integer"),
        ("decoder_layers", None, "decoder_layers must be a positive integer"),
        ("decoder_attention_heads", 3, "divisible by decoder_attention_heads"),
        ("encoder_ffn_dim", 0, "encoder_ffn_dim must be a positive integer"),
        ("decoder_ffn_dim", 2.5, "decoder_ffn_dim must be a positive integer"),
        ("max_position_embeddings", 0, "max_position_embeddings must be a positive integer"),
        ("dropout", 1.0, r"dropout must be a probability in \[0, 1\)"),
        ("dropout", "0.1", r"dropout must be a probability in \[0, 1\)"),
        ("attention_dropout", -0.1, "attention_dropout must be a probability"),
        ("activation_dropout", 1.5, "activation_dropout must be a probability"),
        ("label_smoothing", 1.5, "label_smoothing must be a probability"),
        ("activation_function", "swishy", "activation_function must be one of"),
        ("position_embedding_type", "rotary", "position_embedding_type must be one of"),
        ("sinusoidal_layout", "zigzag", "sinusoidal_layout must be one of"),
        ("layer_norm_eps", 0.0, "layer_norm_eps must be > 0"),
        ("layer_norm_eps", "1e-5", "layer_norm_eps must be > 0"),
        ("init_std", -1.0, "init_std must be > 0"),
        ("pad_token_id", 50, r"pad_token_id must be a token id in \[0, vocab_size=50\)"),
        ("pad_token_id", "0", "pad_token_id must be a token id"),
        ("bos_token_id", -1, "bos_token_id must be a token id"),
        ("eos_token_id", [2, 99], "eos_token_id must be a token id"),
        ("decoder_start_token_id", 50, "decoder_start_token_id must be a token id"),
    ]],
    *[(LectureBertConfig, BERT_TINY, field, value, message) for field, value, message in [
        ("vocab_size", -3, "vocab_size must be a positive integer"),
        ("hidden_size", 15, r"hidden_size \(15\) must be divisible by num_attention_heads \(2\)"),
        ("num_hidden_layers", 0, "num_hidden_layers must be a positive integer"),
        ("num_attention_heads", 0, "num_attention_heads must be a positive integer"),
        ("intermediate_size", 2.5, "intermediate_size must be a positive integer"),
        ("max_position_embeddings", 0, "max_position_embeddings must be a positive integer"),
        ("type_vocab_size", 0, "type_vocab_size must be a positive integer"),
        ("hidden_dropout_prob", 1.0, r"hidden_dropout_prob must be a probability in \[0, 1\)"),
        ("attention_probs_dropout_prob", -0.1, "attention_probs_dropout_prob must be a probability"),
        ("classifier_dropout", 1.5, "classifier_dropout must be a probability"),
        ("hidden_act", "swishy", "hidden_act must be one of"),
        ("position_embedding_type", "rotary", "position_embedding_type must be one of"),
        ("pooling", "max", "pooling must be one of"),
        ("layer_norm_eps", 0.0, "layer_norm_eps must be > 0"),
        ("initializer_range", -1.0, "initializer_range must be > 0"),
        ("pad_token_id", 60, r"pad_token_id must be a token id in \[0, vocab_size=60\)"),
        ("pad_token_id", "0", "pad_token_id must be a token id"),
    ]],
    *[(LectureViTConfig, VIT_TINY, field, value, message) for field, value, message in [
        ("image_size", 9, r"image_size \(9\) must be divisible by patch_size \(2\)"),
        ("image_size", (8, 8), "image_size must be a positive integer"),
        ("patch_size", 0, "patch_size must be a positive integer"),
        ("num_channels", 0, "num_channels must be a positive integer"),
        ("hidden_size", 15, r"hidden_size \(15\) must be divisible by num_attention_heads \(2\)"),
        ("num_hidden_layers", 1.5, "num_hidden_layers must be a positive integer"),
        ("intermediate_size", -4, "intermediate_size must be a positive integer"),
        ("pooler_output_size", 0, "pooler_output_size must be a positive integer"),
        ("hidden_dropout_prob", 1.0, r"hidden_dropout_prob must be a probability in \[0, 1\)"),
        ("attention_probs_dropout_prob", "0", "attention_probs_dropout_prob must be a probability"),
        ("hidden_act", "swishy", "hidden_act must be one of"),
        ("pooler_act", "nope", "pooler_act must be one of"),
        ("layer_norm_eps", 0.0, "layer_norm_eps must be a positive number"),
        ("initializer_range", -1.0, "initializer_range must be a positive number"),
        ("qkv_bias", False, "qkv_bias must be True"),
    ]],
]  # fmt: skip


@pytest.mark.parametrize(
    "config_class, base, field, value, message",
    BAD_CONFIGS,
    ids=[f"{c.model_type}.{field}={value!r}" for c, _, field, value, _ in BAD_CONFIGS],
)
def test_bad_config_value_names_the_field_and_the_rule(config_class, base, field, value, message):
    with pytest.raises(ValueError, match=message):
        config_class(**{**base, field: value})


# ------------------------------------------------------------------ the command line

CLI_BAD_INPUT = test_cli.BAD_INPUT  # (argv, sub-command, what the one stderr line says): the CLI's own table


@pytest.mark.parametrize("argv, command, message", CLI_BAD_INPUT, ids=[" ".join(a[:3]) for a, _, _ in CLI_BAD_INPUT])
def test_command_line_bad_input_is_one_line_and_exit_2(bad_files, capsys, argv, command, message):  # noqa: F811
    code, _, err = run_main([a.format(tmp=bad_files) for a in argv], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"hf-lecture {command}: error: ")
    assert message.format(tmp=bad_files) in err


def test_the_inventory_counts():
    """The table's size, as reported in the issue note (every row above is a test case)."""
    assert len(BAD_INPUTS) >= 80 and len(BAD_CONFIGS) >= 55 and len(CLI_BAD_INPUT) >= 20
    assert all(case.error is None or case.error for case in BAD_INPUTS)


# ------------------------------------------------------------------ property tests

PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
sizes = st.integers(min_value=-2, max_value=6)


def _outputs_or_value_error(build, run) -> None:
    """Either a ValueError, or a model whose outputs are all finite."""
    try:
        model = build()
    except ValueError:
        return
    model.eval()
    try:
        with torch.no_grad():
            result = run(model)
    except ValueError:
        return
    assert _finite(result)


@PROPERTY_SETTINGS
@given(
    d_model=sizes.map(lambda n: 4 * n), heads=sizes, layers=sizes, ffn=sizes.map(lambda n: 8 * n),
    dropout=st.floats(-0.5, 1.5), positions=sizes.map(lambda n: 4 * n), batch=sizes, length=st.integers(-1, 30),
    learned=st.booleans(), pre_ln=st.booleans(),
)  # fmt: skip
def test_transformer_builds_and_runs_or_raises_value_error(d_model, heads, layers, ffn, dropout, positions, batch, length, learned, pre_ln):
    def build():
        config = LectureTransformerConfig(
            vocab_size=30, d_model=d_model, encoder_layers=layers, decoder_layers=layers, encoder_attention_heads=heads,
            decoder_attention_heads=heads, encoder_ffn_dim=ffn, decoder_ffn_dim=ffn, dropout=dropout,
            max_position_embeddings=positions, position_embedding_type="learned" if learned else "sinusoidal",
            normalize_before=pre_ln,
        )  # fmt: skip
        return LectureTransformerForConditionalGeneration(config)

    def run(model):
        ids = torch.randint(3, 30, (max(batch, 0), max(length, 0)))
        out = model(ids, torch.ones_like(ids), labels=ids[:, :4].clone())
        return out.logits, out.loss

    _outputs_or_value_error(build, run)


@PROPERTY_SETTINGS
@given(
    hidden=sizes.map(lambda n: 4 * n), heads=sizes, layers=sizes, types=sizes, positions=sizes.map(lambda n: 4 * n),
    batch=sizes, length=st.integers(-1, 30), pad_from=st.integers(0, 30), none_positions=st.booleans(),
    pooling=st.sampled_from(["cls", "mean"]),
)  # fmt: skip
def test_bert_builds_and_runs_or_raises_value_error(hidden, heads, layers, types, positions, batch, length, pad_from, none_positions, pooling):
    def build():
        config = LectureBertConfig(
            vocab_size=40, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
            intermediate_size=max(hidden, 1) * 2, type_vocab_size=types, max_position_embeddings=positions,
            position_embedding_type="none" if none_positions else "absolute", pooling=pooling, num_labels=3,
        )  # fmt: skip
        return LectureBertForSequenceClassification(config)

    def run(model):
        ids = torch.randint(5, 40, (max(batch, 0), max(length, 0)))
        mask = torch.ones_like(ids)
        mask[:, pad_from:] = 0  # may pad whole rows
        labels = torch.arange(ids.shape[0]) % 3
        out = model(ids, mask, token_type_ids=torch.zeros_like(ids), labels=labels)
        return out.logits, out.loss

    _outputs_or_value_error(build, run)


@PROPERTY_SETTINGS
@given(
    image=sizes.map(lambda n: 4 * n), patch=sizes, channels=sizes, hidden=sizes.map(lambda n: 4 * n), heads=sizes,
    batch=sizes, height=st.integers(0, 20), width=st.integers(0, 20), given_channels=st.integers(0, 4),
    interpolate=st.booleans(),
)  # fmt: skip
def test_vit_builds_and_runs_or_raises_value_error(image, patch, channels, hidden, heads, batch, height, width, given_channels, interpolate):
    def build():
        config = LectureViTConfig(
            image_size=image, patch_size=patch, num_channels=channels, hidden_size=hidden, num_hidden_layers=1,
            num_attention_heads=heads, intermediate_size=8, num_labels=2,
        )  # fmt: skip
        return LectureViTForImageClassification(config)

    def run(model):
        pixels = torch.randn(max(batch, 0), given_channels, height, width)
        out = model(pixels, labels=torch.zeros(max(batch, 0), dtype=torch.long), interpolate_pos_encoding=interpolate)
        return out.logits, out.loss

    _outputs_or_value_error(build, run)
