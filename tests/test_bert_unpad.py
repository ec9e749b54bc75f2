"""BERT's packed fast path (config.unpad_inputs): the real tokens only, the same numbers as the padded path."""

import pytest
import torch

from hf_lecture import LectureBertConfig, LectureBertForPreTraining, LectureBertForSequenceClassification
from hf_lecture.models.layers import PackedTokens


def tiny_config(**overrides) -> LectureBertConfig:
    sizes = dict(
        vocab_size=60, hidden_size=24, num_hidden_layers=2, num_attention_heads=4, intermediate_size=40,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, attn_implementation="sdpa",
    )  # fmt: skip
    return LectureBertConfig(**{**sizes, **overrides})


def pretraining_batch():
    """Rows of 11, 7, 4 and 11 real tokens out of 11; a few masked positions per row."""
    input_ids = torch.randint(5, 60, (4, 11))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 7:] = 0
    attention_mask[2, 4:] = 0
    input_ids[attention_mask == 0] = 0
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, 5:] = 1
    token_type_ids[attention_mask == 0] = 0
    labels = torch.full_like(input_ids, -100)
    for row, column in [(0, 1), (0, 8), (1, 2), (1, 6), (2, 3), (3, 0), (3, 10)]:
        labels[row, column] = input_ids[row, column]
    return dict(
        input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, labels=labels,
        next_sentence_label=torch.tensor([0, 1, 1, 0]),
    )  # fmt: skip


def loss_and_gradients(model, batch, unpad: bool):
    model.config.unpad_inputs = unpad
    model.zero_grad()
    output = model(**batch)
    output.loss.backward()
    gradients = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return output, gradients


def test_packed_path_equals_padded_path_in_loss_logits_and_gradients():
    model = LectureBertForPreTraining(tiny_config()).train()
    batch = pretraining_batch()
    packed, packed_grads = loss_and_gradients(model, batch, unpad=True)
    padded, padded_grads = loss_and_gradients(model, batch, unpad=False)
    torch.testing.assert_close(packed.loss, padded.loss, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(packed.prediction_logits, padded.prediction_logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(packed.seq_relationship_logits, padded.seq_relationship_logits, atol=1e-5, rtol=1e-5)
    assert packed_grads.keys() == padded_grads.keys() and len(packed_grads) == len(list(model.parameters()))
    for name, gradient in packed_grads.items():
        torch.testing.assert_close(gradient, padded_grads[name], atol=1e-5, rtol=1e-4, msg=name)


def test_packed_path_is_taken_only_in_training_with_padding_and_sdpa(monkeypatch):
    packs = []
    original = PackedTokens.from_attention_mask
    monkeypatch.setattr(
        PackedTokens, "from_attention_mask", classmethod(lambda cls, mask: packs.append(mask) or original(mask))
    )
    batch = pretraining_batch()
    model = LectureBertForPreTraining(tiny_config()).train()
    model(**batch)
    assert len(packs) == 1
    model.eval()(**batch)  # evaluation: padded path, outputs identical to transformers' at every position
    model.train()(**{**batch, "attention_mask": torch.ones_like(batch["attention_mask"])})  # no padding
    model(**batch, output_hidden_states=True)  # per-layer outputs asked for
    model.config.unpad_inputs = False
    model(**batch)
    assert len(packs) == 1
    eager = LectureBertForPreTraining(tiny_config(attn_implementation="eager")).train()
    eager(**batch)
    assert len(packs) == 1


def test_packed_trunk_returns_zeros_at_padding_and_the_padded_numbers_elsewhere():
    model = LectureBertForSequenceClassification(tiny_config(num_labels=3)).train()
    batch = pretraining_batch()
    inputs = {key: batch[key] for key in ("input_ids", "attention_mask", "token_type_ids")}
    packed = model.bert(**inputs).last_hidden_state
    model.config.unpad_inputs = False
    padded = model.bert(**inputs).last_hidden_state
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(packed[real], padded[real], atol=1e-5, rtol=1e-5)
    assert not packed[~real].any()


@pytest.mark.parametrize("mask_row", [[1, 1, 0, 1, 1, 0], [0, 0, 0, 0, 0, 0]])
def test_holes_and_empty_rows(mask_row):
    """A mask with a hole in the middle, or a row of padding only: packing still gives the padded numbers."""
    model = LectureBertForSequenceClassification(tiny_config(num_labels=2)).train()
    input_ids = torch.randint(5, 60, (2, 6))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1] = torch.tensor(mask_row)
    packed = model(input_ids, attention_mask, labels=torch.tensor([0, 1]))
    model.config.unpad_inputs = False
    padded = model(input_ids, attention_mask, labels=torch.tensor([0, 1]))
    torch.testing.assert_close(packed.logits[0], padded.logits[0], atol=1e-5, rtol=1e-5)
    if any(mask_row):
        torch.testing.assert_close(packed.loss, padded.loss, atol=1e-5, rtol=1e-5)
    assert torch.isfinite(packed.loss)


def test_unpad_inputs_must_be_a_bool():
    with pytest.raises(ValueError, match="unpad_inputs must be True or False"):
        tiny_config(unpad_inputs="yes")
