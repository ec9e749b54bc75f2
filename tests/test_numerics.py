"""Numerics: bf16 autocast on CPU gives finite forward and backward passes for every model, also with
heavy padding (masks use the dtype's minimum, never -inf arithmetic that turns into NaN); and the same
seed gives bit-identical training on CPU."""

from __future__ import annotations

import pytest
import torch

from hf_lecture import (
    LectureBertForPreTraining,
    LectureBertForSequenceClassification,
    LectureBertForTokenClassification,
    LectureTransformerForCausalLM,
    LectureTransformerForConditionalGeneration,
    LectureViTForImageClassification,
)
from hf_lecture.models.layers import additive_mask, causal_mask, padding_mask

from .test_bert import tiny_config as bert_config
from .test_transformer import tiny_config as transformer_config
from .test_vit import tiny_config as vit_config

BATCH, LENGTH = 4, 12


def heavy_padding(vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows with 12, 3 and 1 real tokens, and one row that is all padding."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, vocab, (BATCH, LENGTH), generator=generator)
    mask = torch.zeros(BATCH, LENGTH, dtype=torch.long)
    for row, real in enumerate((LENGTH, 3, 1, 0)):
        mask[row, :real] = 1
    return ids.masked_fill(mask == 0, 0), mask


def seq2seq_batch():
    ids, mask = heavy_padding(50)
    labels = ids.masked_fill(mask == 0, -100)
    labels[3, 0] = 7  # the all-padding source still gets one target token
    return dict(input_ids=ids, attention_mask=mask, labels=labels, decoder_attention_mask=mask.clone().fill_(1))


def causal_batch():
    ids, mask = heavy_padding(50)
    return dict(input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100))


def bert_batch(**labels):
    ids, mask = heavy_padding(60)
    return dict(input_ids=ids, attention_mask=mask, **labels)


def mlm_labels():
    ids, mask = heavy_padding(60)
    labels = torch.full_like(ids, -100)
    labels[:3, 0] = ids[:3, 0]
    return labels


MODELS = {  # name: (model factory with dropout on, batch factory)
    "seq2seq": (lambda impl: LectureTransformerForConditionalGeneration(transformer_config(dropout=0.1, attn_implementation=impl)), seq2seq_batch),
    "seq2seq pre-LN": (lambda impl: LectureTransformerForConditionalGeneration(transformer_config(normalize_before=True, attn_implementation=impl)), seq2seq_batch),
    "causal-lm": (lambda impl: LectureTransformerForCausalLM(transformer_config(is_encoder_decoder=False, attn_implementation=impl)), causal_batch),
    "bert pre-training": (lambda impl: LectureBertForPreTraining(bert_config(hidden_dropout_prob=0.1, attn_implementation=impl)),
                          lambda: bert_batch(labels=mlm_labels(), next_sentence_label=torch.tensor([0, 1, 0, 1]))),
    "bert classifier (mean pooling)": (lambda impl: LectureBertForSequenceClassification(bert_config(num_labels=3, pooling="mean", attn_implementation=impl)),
                                       lambda: bert_batch(labels=torch.tensor([0, 1, 2, 0]))),
    "bert tokens": (lambda impl: LectureBertForTokenClassification(bert_config(num_labels=3, attn_implementation=impl)),
                    lambda: bert_batch(labels=heavy_padding(60)[1].masked_fill(heavy_padding(60)[1] == 0, -100))),
    "vit": (lambda impl: LectureViTForImageClassification(vit_config(num_labels=3, hidden_dropout_prob=0.1, attn_implementation=impl)),
            lambda: dict(pixel_values=torch.randn(BATCH, 3, 8, 8) * 50, labels=torch.tensor([0, 1, 2, -100]))),
}  # fmt: skip


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_bf16_autocast_forward_and_backward_are_finite(name, implementation):
    build, batch = MODELS[name]
    model = build(implementation).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        outputs = model(**batch(), output_attentions=implementation == "eager")
    outputs.loss.backward()
    assert torch.isfinite(outputs.loss) and outputs.loss > 0
    logits = outputs.logits if "logits" in outputs else outputs.prediction_logits
    assert logits.dtype == torch.bfloat16 and bool(torch.isfinite(logits).all())
    for key in ("attentions", "decoder_attentions"):
        for weights in outputs.get(key) or ():  # eager: every attention row sums to 1, padded rows included
            assert bool(torch.isfinite(weights).all())
            torch.testing.assert_close(weights.float().sum(-1), torch.ones_like(weights[..., 0], dtype=torch.float), atol=2e-2, rtol=0)
    gradients = [p.grad for p in model.parameters() if p.grad is not None]
    assert gradients and all(bool(torch.isfinite(g).all()) for g in gradients)


def test_masks_use_the_dtype_minimum_not_minus_infinity():
    hidden = torch.zeros(1, 3, 4)
    keep = padding_mask(torch.tensor([[1, 1, 0]]), 3) & causal_mask(3, 3, hidden.device)
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        mask = additive_mask(keep, hidden.to(dtype))
        assert mask.dtype == dtype and bool(torch.isfinite(mask).all())
        assert set(mask.unique().tolist()) == {0.0, torch.finfo(dtype).min}
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the scores are bf16 under autocast: bf16's minimum
        mask = additive_mask(keep, hidden)
    assert mask.dtype == torch.bfloat16 and mask.min() == torch.finfo(torch.bfloat16).min
    # A fully hidden row (padding and causal combined) stays finite after adding the scores and the softmax.
    fully_hidden = additive_mask(torch.zeros(1, 1, 2, 2, dtype=torch.bool), hidden)
    assert bool(torch.isfinite(torch.softmax(fully_hidden + torch.randn(1, 1, 2, 2), -1)).all())


# ------------------------------------------------------------------ determinism


def train_a_few_steps(name: str, seed: int, steps: int = 3) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    build, batch = MODELS[name]
    model = build("sdpa").train()  # dropout on
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = model(**batch()).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return {key: value.clone() for key, value in model.state_dict().items()}


@pytest.mark.parametrize("name", ["seq2seq", "bert pre-training", "vit"])
def test_the_same_seed_gives_bit_identical_training(name):
    first, second = train_a_few_steps(name, seed=1), train_a_few_steps(name, seed=1)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)
    other = train_a_few_steps(name, seed=2)  # and the seed matters (initialisation and dropout)
    assert any(not torch.equal(first[key], other[key]) for key in first)
