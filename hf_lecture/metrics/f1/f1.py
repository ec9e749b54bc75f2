"""F1 score: the harmonic mean of precision and recall, for binary or multi-class labels.

For one class c: precision = TP / (TP + FP), recall = TP / (TP + FN),
F1 = 2 * precision * recall / (precision + recall) = 2 TP / (2 TP + FP + FN).
Several classes are averaged with ``average``. Same numbers as scikit-learn's ``f1_score``
(a class with no predictions and no references scores 0).
An evaluate metric module, loaded offline by path:
``evaluate.load("hf_lecture/metrics/f1")`` or ``hf_lecture.metrics.load_metric("f1")``.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "F1 = 2 TP / (2 TP + FP + FN), per class, then averaged; in [0, 1]."

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of int): predicted labels.
    references (list of int): true labels.
    average (str): "binary" (the F1 of pos_label only; the default), "macro" (the plain mean
        over classes), "micro" (F1 of the TP / FP / FN counts summed over classes; equals
        accuracy for single-label data), "weighted" (mean weighted by each class's number of
        references), or None (one score per class, in the order of `labels`).
    pos_label (int): the positive class for average="binary".
    labels (list of int): the classes to score; default: every label seen, sorted.
Returns:
    f1 (float, or list of float when average=None).
Example:
    >>> f1.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0])
    {'f1': 0.6666666666666666}
"""

_AVERAGES = ("binary", "macro", "micro", "weighted", None)


def _safe_divide(numerator, denominator):
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=float), where=denominator != 0)


class F1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, average="binary", pos_label=1, labels=None):
        if average not in _AVERAGES:
            raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
        predictions, references = np.asarray(predictions), np.asarray(references)
        seen = np.union1d(predictions, references)
        if average == "binary":
            if len(seen) > 2:
                raise ValueError(
                    f"average='binary' needs at most two classes, got {seen.tolist()}; use 'macro', 'micro' or 'weighted'"
                )
            labels = [pos_label]
        classes = np.asarray(seen if labels is None else labels)

        # per-class counts, each of shape (C,)
        true_positives = np.array([np.sum((predictions == c) & (references == c)) for c in classes], dtype=float)
        false_positives = np.array([np.sum((predictions == c) & (references != c)) for c in classes], dtype=float)
        false_negatives = np.array([np.sum((predictions != c) & (references == c)) for c in classes], dtype=float)

        if average == "micro":
            true_positives, false_positives, false_negatives = (
                true_positives.sum(keepdims=True), false_positives.sum(keepdims=True), false_negatives.sum(keepdims=True)
            )
        scores = _safe_divide(2 * true_positives, 2 * true_positives + false_positives + false_negatives)

        if average is None:
            return {"f1": scores.tolist()}
        if average == "weighted":
            support = true_positives + false_negatives  # references of each class
            return {"f1": float(_safe_divide(np.sum(scores * support), np.sum(support)))}
        return {"f1": float(scores.mean())}
