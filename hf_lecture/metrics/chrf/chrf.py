"""chrF (Popović, 2015) and chrF++ as sacrebleu computes them, on a 0-100 scale.

chrF is the F-beta score (beta = 2: recall weighs twice as much as precision) of the
character n-grams (n = 1..6) shared by hypothesis and reference, averaged over n; chrF++
(``word_order=2``) adds word unigrams and bigrams. Working on characters, it needs no
tokeniser and suits languages written without spaces, such as Korean number words.
An evaluate metric module, loaded offline by path:
``evaluate.load("hf_lecture/metrics/chrf")`` or ``hf_lecture.metrics.load_metric("chrf")``.
"""

import datasets
import evaluate
from sacrebleu.metrics import CHRF

_CITATION = """\
@inproceedings{popovic-2015-chrf,
    title = "chr{F}: character n-gram {F}-score for automatic {MT} evaluation",
    author = "Popovi{\\'c}, Maja", booktitle = "Proceedings of WMT", year = "2015", pages = "392--395",
}
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): the system's translations.
    references (list of str, or list of list of str): one reference, or several
        (the same number for every prediction), per prediction.
    char_order (int): largest character n-gram (6).
    word_order (int): largest word n-gram (0 = chrF; 2 = chrF++).
    beta (int): recall's weight relative to precision (2).
    lowercase (bool): compare lower-cased texts.
    whitespace (bool): count spaces as characters (False).
    eps_smoothing (bool): smooth as chrF++.py / NLTK / Moses do (False: as the paper).
Returns:
    score (float, 0-100), char_order, word_order, beta.
Example:
    >>> chrf.compute(predictions=["육백육십삼"], references=[["육백육십삼"]])["score"]
    100.0
"""


class ChrF(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="chrF / chrF++ computed with sacrebleu's corpus_score, 0-100.",
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            homepage="https://github.com/mjpost/sacrebleu",
            features=[
                datasets.Features(
                    {"predictions": datasets.Value("string"), "references": datasets.Sequence(datasets.Value("string"))}
                ),
                datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
            ],
        )

    def _compute(
        self,
        predictions,
        references,
        char_order=6,
        word_order=0,
        beta=2,
        lowercase=False,
        whitespace=False,
        eps_smoothing=False,
    ):
        chrf = CHRF(
            char_order=char_order,
            word_order=word_order,
            beta=beta,
            lowercase=lowercase,
            whitespace=whitespace,
            eps_smoothing=eps_smoothing,
        )
        result = chrf.corpus_score(list(predictions), _reference_streams(references))
        return {"score": result.score, "char_order": char_order, "word_order": word_order, "beta": beta}


def _reference_streams(references):
    """Per-prediction references -> sacrebleu's layout: one list per reference "stream"."""
    if references and isinstance(references[0], str):
        return [list(references)]
    counts = {len(refs) for refs in references}
    if len(counts) != 1:
        raise ValueError(f"every prediction needs the same number of references, got the counts {sorted(counts)}")
    return [list(stream) for stream in zip(*references)]
