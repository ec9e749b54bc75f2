"""The shipped evaluate metric modules: known values, options, offline loading."""

import os
import socket

import evaluate
import numpy as np
import pytest
import sacrebleu
from sklearn.metrics import f1_score
from transformers import EvalPrediction

from hf_lecture.metrics import METRICS_DIR, available_metrics, compute_seq2seq_metrics, load_metric


@pytest.fixture(scope="module")
def metrics():
    return {name: load_metric(name) for name in available_metrics()}


def test_shipped_modules():
    assert available_metrics() == ["accuracy", "bleu", "chrf", "exact_match", "f1"]
    with pytest.raises(ValueError, match="unknown metric 'rouge'; hf_lecture ships \\['accuracy'"):
        load_metric("rouge")


def test_both_path_forms_load():
    by_folder = evaluate.load(str(METRICS_DIR / "accuracy"))
    by_file = evaluate.load(str(METRICS_DIR / "accuracy" / "accuracy.py"))
    for metric in (by_folder, by_file):
        assert metric.compute(predictions=[1, 1], references=[1, 0]) == {"accuracy": 0.5}


def test_accuracy(metrics):
    accuracy = metrics["accuracy"]
    assert accuracy.compute(predictions=[0, 1, 1], references=[0, 1, 0])["accuracy"] == pytest.approx(2 / 3)
    assert accuracy.compute(predictions=[0, 1, 1], references=[0, 1, 0], normalize=False)["accuracy"] == 2
    weighted = accuracy.compute(predictions=[0, 1, 1], references=[0, 1, 0], sample_weight=[1, 1, 2])
    assert weighted["accuracy"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="sample_weight must have one weight per prediction"):
        accuracy.compute(predictions=[0, 1], references=[0, 1], sample_weight=[1.0])


@pytest.mark.parametrize("average", ["binary", "macro", "micro", "weighted", None])
def test_f1_equals_sklearn(metrics, average):
    rng = np.random.default_rng(0)
    num_classes = 2 if average == "binary" else 4
    references = rng.integers(0, num_classes, 60)
    predictions = np.where(rng.random(60) < 0.6, references, rng.integers(0, num_classes, 60))
    predictions[predictions == 3] = 2  # class 3 is never predicted: its precision is 0 / 0
    ours = metrics["f1"].compute(predictions=predictions.tolist(), references=references.tolist(), average=average)["f1"]
    theirs = f1_score(references, predictions, average=average, zero_division=0)
    assert np.allclose(ours, theirs)


def test_f1_known_value_and_errors(metrics):
    f1 = metrics["f1"]
    # TP = 1, FP = 1, FN = 0 -> 2 / (2 + 1) = 2/3
    assert f1.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0])["f1"] == pytest.approx(2 / 3)
    assert f1.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0], pos_label=0)["f1"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="average='binary' needs at most two classes"):
        f1.compute(predictions=[0, 1, 2], references=[0, 1, 2])
    with pytest.raises(ValueError, match="average must be one of"):
        f1.compute(predictions=[0, 1], references=[0, 1], average="samples")


def test_bleu(metrics):
    bleu = metrics["bleu"]
    corpus = ["the cat sat on the mat", "there is a dog in the garden"]
    assert bleu.compute(predictions=corpus, references=corpus)["score"] == pytest.approx(100.0)
    assert bleu.compute(predictions=["a b c d"], references=["e f g h"])["score"] == 0.0
    # two references per prediction: the same number as sacrebleu's own corpus_bleu
    predictions = ["the cat is on the mat", "a dog runs in a park"]
    references = [["the cat sat on the mat", "a cat is on the mat"], ["the dog runs in the park", "a dog ran in a park"]]
    ours = bleu.compute(predictions=predictions, references=references)
    theirs = sacrebleu.corpus_bleu(predictions, [list(stream) for stream in zip(*references)])
    assert ours["score"] == pytest.approx(theirs.score) and 0 < ours["score"] < 100
    assert ours["sys_len"] == 12 and len(ours["precisions"]) == 4
    # Korean without spaces: a near miss is 0 with word tokens, partial credit with characters
    near_miss = {"predictions": ["육백육십삼"], "references": ["육백육십사"]}
    assert bleu.compute(**near_miss)["score"] == 0.0
    assert 0 < bleu.compute(**near_miss, tokenize="char")["score"] < 100
    with pytest.raises(ValueError, match="same number of references"):
        bleu.compute(predictions=["a", "b"], references=[["a"], ["b", "c"]])


def test_chrf(metrics):
    chrf = metrics["chrf"]
    assert chrf.compute(predictions=["육백육십삼"], references=[["육백육십삼"]])["score"] == pytest.approx(100.0)
    assert chrf.compute(predictions=["abc"], references=["xyz"])["score"] == 0.0
    near = chrf.compute(predictions=["육백육십삼"], references=["육백육십사"])
    assert 0 < near["score"] < 100
    assert near["score"] == pytest.approx(sacrebleu.corpus_chrf(["육백육십삼"], [["육백육십사"]]).score)
    plus = chrf.compute(predictions=["the cat sat"], references=["the cat sat down"], word_order=2)
    assert plus["word_order"] == 2
    assert plus["score"] == pytest.approx(sacrebleu.corpus_chrf(["the cat sat"], [["the cat sat down"]], word_order=2).score)


def test_exact_match(metrics):
    exact_match = metrics["exact_match"]
    assert exact_match.compute(predictions=["육백", "삼"], references=["육백", "사"])["exact_match"] == 0.5
    assert exact_match.compute(predictions=["One"], references=["one"])["exact_match"] == 0.0
    assert exact_match.compute(predictions=["One "], references=["one"], ignore_case=True, ignore_whitespace=True)[
        "exact_match"
    ] == 1.0
    assert exact_match.compute(predictions=["만이"], references=["만 이"], ignore_whitespace=True)["exact_match"] == 0.0


def test_compute_seq2seq_metrics_decodes_generated_ids_and_labels():
    from hf_lecture.data.translation import train_word_char_tokenizer

    tokenizer = train_word_char_tokenizer(["육백육십삼", "구백", "one two"])
    labels = tokenizer(["육백육십삼", "구백"])["input_ids"]
    width = max(map(len, labels))
    label_ids = np.array([ids + [-100] * (width - len(ids)) for ids in labels])  # (2, 6)
    right = [1] + tokenizer("육백육십삼")["input_ids"] + [0, 0]  # <s> ... </s> <pad> as generate pads
    wrong = [1] + tokenizer("구백백")["input_ids"] + [0, 0, 0, 0]
    compute_metrics = compute_seq2seq_metrics(tokenizer)
    scores = compute_metrics(EvalPrediction(predictions=np.array([right, wrong]), label_ids=label_ids))
    assert set(scores) == {"exact_match", "chrf", "bleu"}
    assert scores["exact_match"] == 0.5 and 0 < scores["chrf"] < 100

    # logits (B, T, V) are read greedily, only where there is a label
    logits = np.full((2, width, len(tokenizer)), -1.0)
    logits[np.arange(2)[:, None], np.arange(width)[None, :], np.where(label_ids < 0, 5, label_ids)] = 1.0
    scores = compute_seq2seq_metrics(tokenizer, metric_names=("exact_match",))(
        EvalPrediction(predictions=logits, label_ids=label_ids)
    )
    assert scores == {"exact_match": 1.0}
    with pytest.raises(ValueError, match="metric_names may hold"):
        compute_seq2seq_metrics(tokenizer, metric_names=("rouge",))


def test_loading_is_offline(monkeypatch):
    """Every module loads and computes with HF_HUB_OFFLINE=1 (conftest) and the network cut off."""
    assert os.environ["HF_HUB_OFFLINE"] == "1"

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access: {args}")

    for name in ("create_connection", "getaddrinfo"):
        monkeypatch.setattr(socket, name, refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    scores = {}
    for name in available_metrics():
        data = (["a b c d"], ["a b c d"]) if name in ("bleu", "chrf", "exact_match") else ([1, 0], [1, 0])
        result = load_metric(name).compute(predictions=data[0], references=data[1])
        scores[name] = round(float(next(iter(result.values()))), 3)
    assert scores == {"accuracy": 1.0, "bleu": 100.0, "chrf": 100.0, "exact_match": 1.0, "f1": 1.0}
