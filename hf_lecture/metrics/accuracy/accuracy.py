"""Accuracy: the fraction of predictions equal to their reference label.

An evaluate metric module, loaded offline by path:
``evaluate.load("hf_lecture/metrics/accuracy")`` or ``hf_lecture.metrics.load_metric("accuracy")``.
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = "Accuracy = (number of correct predictions) / (number of predictions), in [0, 1]."

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of int): predicted labels.
    references (list of int): true labels.
    normalize (bool): if False, return the number of correct predictions instead of the fraction.
    sample_weight (list of float): optional weight of each example.
Returns:
    accuracy (float): the (weighted) fraction, or count, of correct predictions.
Example:
    >>> accuracy.compute(predictions=[0, 1, 1], references=[0, 1, 0])
    {'accuracy': 0.6666666666666666}
"""


class Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, normalize=True, sample_weight=None):
        correct = np.asarray(predictions) == np.asarray(references)
        weights = np.ones(len(correct)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if weights.shape != correct.shape:
            raise ValueError(f"sample_weight must have one weight per prediction ({len(correct)}), got {weights.shape}")
        score = float((weights * correct).sum())
        return {"accuracy": score / float(weights.sum()) if normalize else score}
