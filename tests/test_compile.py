"""torch.compile works on every model family: the compiled forward and training step match eager.

Tiny configs and ``dynamic=False`` keep each compilation to seconds; still, inductor is slow on two
cores, so these are marked slow.
"""

import copy

import pytest
import torch

from hf_lecture import (
    LectureBertConfig,
    LectureBertForPreTraining,
    LectureTransformerConfig,
    LectureTransformerForConditionalGeneration,
    LectureViTConfig,
    LectureViTForImageClassification,
)

pytestmark = pytest.mark.slow


def bert_case():
    config = LectureBertConfig(
        vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, max_position_embeddings=16,
    )  # fmt: skip
    input_ids = torch.randint(5, 40, (2, 8))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 6:] = 0
    labels = torch.full_like(input_ids, -100)
    labels[0, 2], labels[1, 4] = input_ids[0, 2], input_ids[1, 4]
    batch = dict(input_ids=input_ids, attention_mask=attention_mask, labels=labels, next_sentence_label=torch.tensor([0, 1]))
    return LectureBertForPreTraining(config), batch, "prediction_logits"


def vit_case():
    config = LectureViTConfig(
        image_size=8, patch_size=2, num_channels=3, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, num_labels=3, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    batch = dict(pixel_values=torch.randn(2, 3, 8, 8), labels=torch.tensor([0, 2]))
    return LectureViTForImageClassification(config), batch, "logits"


def transformer_case():
    config = LectureTransformerConfig(
        vocab_size=40, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=32, dropout=0.0,
    )  # fmt: skip
    input_ids = torch.randint(3, 40, (2, 7))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 5:] = 0
    batch = dict(input_ids=input_ids, attention_mask=attention_mask, labels=torch.randint(3, 40, (2, 6)))
    return LectureTransformerForConditionalGeneration(config), batch, "logits"


@pytest.mark.parametrize("case", [bert_case, vit_case, transformer_case], ids=["bert", "vit", "transformer"])
def test_compiled_forward_and_training_step_match_eager(case):
    torch._dynamo.reset()
    eager, batch, logits_name = case()
    twin = copy.deepcopy(eager)
    compiled = torch.compile(twin, dynamic=False)

    # Evaluation: the same logits.
    eager.eval(), twin.eval()
    with torch.no_grad():
        expected, got = eager(**batch), compiled(**batch)
    torch.testing.assert_close(got[logits_name], expected[logits_name], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(got.loss, expected.loss, atol=1e-5, rtol=1e-4)

    # One training step (forward, backward, SGD): the same loss, gradients and updated weights. (SGD, as AdamW
    # would blow up the ~1e-9 rounding noise of gradients that are zero in exact arithmetic, e.g. k_proj.bias.)
    eager.train(), twin.train()
    losses = []
    for model, forward in [(eager, eager), (twin, compiled)]:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loss = forward(**batch).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    torch.testing.assert_close(losses[1], losses[0], atol=1e-5, rtol=1e-4)
    twin_parameters = dict(twin.named_parameters())
    for name, parameter in eager.named_parameters():
        torch.testing.assert_close(twin_parameters[name].grad, parameter.grad, atol=1e-5, rtol=1e-4, msg=name)
        torch.testing.assert_close(twin_parameters[name], parameter, atol=1e-5, rtol=1e-4, msg=name)
    assert not torch.equal(losses[0], torch.zeros(()))
