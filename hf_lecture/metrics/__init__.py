"""Metric modules shipped with hf_lecture, loadable offline.

``evaluate.load("accuracy")`` fetches the module's code from the Hugging Face hub. hf_lecture
ships its own modules instead, one folder each (``<name>/<name>.py``, a subclass of
``evaluate.Metric``), which ``evaluate.load`` accepts as a local path:

    >>> from hf_lecture.metrics import load_metric
    >>> round(load_metric("bleu").compute(predictions=["a b c d"], references=[["a b c d"]])["score"], 6)
    100.0

Each module file stands alone (evaluate copies it, without its neighbours, into its module
cache), so the two sacrebleu modules each carry their own small reference helper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import evaluate
import numpy as np

METRICS_DIR = Path(__file__).resolve().parent


def available_metrics() -> list[str]:
    """The names of the shipped metric modules: accuracy, bleu, chrf, exact_match, f1."""
    return sorted(p.name for p in METRICS_DIR.iterdir() if (p / f"{p.name}.py").is_file())


def metric_path(name: str) -> Path:
    """The folder of the shipped module ``name``, the form ``evaluate.load`` takes."""
    if name not in available_metrics():
        raise ValueError(f"unknown metric {name!r}; hf_lecture ships {available_metrics()}")
    return METRICS_DIR / name


def load_metric(name: str, **kwargs) -> evaluate.EvaluationModule:
    """``evaluate.load`` on the shipped module ``name``: no network, works with HF_HUB_OFFLINE=1.

    ``kwargs`` go to ``evaluate.load`` (e.g. ``experiment_id`` for parallel runs).
    """
    return evaluate.load(str(metric_path(name)), **kwargs)


def compute_seq2seq_metrics(
    tokenizer, metric_names: Sequence[str] = ("exact_match", "chrf", "bleu"), bleu_tokenize: str = "13a"
) -> Callable:
    """A ``compute_metrics`` function for ``Seq2SeqTrainer(predict_with_generate=True)``.

    It decodes the generated ids and the labels (``-100`` read as padding) with
    ``skip_special_tokens=True`` and returns ``{"exact_match": 0-1, "chrf": 0-100,
    "bleu": 0-100}`` for the metrics asked for. Predictions given as logits (B, T, V), as a
    plain ``Trainer`` returns them, are read greedily with argmax: a teacher-forced estimate,
    higher than what ``generate`` achieves. ``bleu_tokenize`` is sacrebleu's tokeniser;
    pass ``"char"`` for text written without spaces (Korean).
    """
    for name in metric_names:
        if name not in ("exact_match", "chrf", "bleu"):
            raise ValueError(f"metric_names may hold 'exact_match', 'chrf', 'bleu'; got {name!r}")
    metrics = {name: load_metric(name) for name in metric_names}

    def decode(ids: np.ndarray) -> list[str]:
        ids = np.where(ids < 0, tokenizer.pad_token_id, ids)  # -100 (ignored label) -> <pad>
        return [text.strip() for text in tokenizer.batch_decode(ids.tolist(), skip_special_tokens=True)]

    def compute_metrics(eval_prediction) -> dict[str, float]:
        predicted = eval_prediction.predictions
        predicted = np.asarray(predicted[0] if isinstance(predicted, tuple) else predicted)
        label_ids = np.asarray(eval_prediction.label_ids)
        if predicted.ndim == 3:  # logits (B, T, V) -> ids (B, T); position t predicts label t
            predicted = np.where(label_ids < 0, -100, predicted.argmax(-1))
        predictions, references = decode(predicted), decode(label_ids)
        scores = {}
        for name, metric in metrics.items():
            options = {"tokenize": bleu_tokenize} if name == "bleu" else {}
            result = metric.compute(predictions=predictions, references=references, **options)
            scores[name] = result["exact_match"] if name == "exact_match" else result["score"]
        return scores

    return compute_metrics
