"""Exact match: the fraction of predicted strings identical to their reference.

The metric of the number-translation task, where an answer is right or wrong.
An evaluate metric module, loaded offline by path:
``evaluate.load("hf_lecture/metrics/exact_match")`` or ``hf_lecture.metrics.load_metric("exact_match")``.
"""

import re

import datasets
import evaluate

_DESCRIPTION = "Exact match = fraction of predictions equal to their reference string, in [0, 1]."

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): predicted texts.
    references (list of str): reference texts.
    ignore_case (bool): compare lower-cased texts.
    ignore_whitespace (bool): strip the ends and collapse runs of whitespace before comparing
        (spaces inside the text still count).
Returns:
    exact_match (float): the fraction of exact matches.
Example:
    >>> exact_match.compute(predictions=["육백", "삼"], references=["육백", "사"])
    {'exact_match': 0.5}
"""


def _normalize(text, ignore_case, ignore_whitespace):
    if ignore_whitespace:
        text = re.sub(r"\s+", " ", text).strip()
    return text.lower() if ignore_case else text


class ExactMatch(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references, ignore_case=False, ignore_whitespace=False):
        matches = [
            _normalize(p, ignore_case, ignore_whitespace) == _normalize(r, ignore_case, ignore_whitespace)
            for p, r in zip(predictions, references)
        ]
        return {"exact_match": sum(matches) / len(matches)}
