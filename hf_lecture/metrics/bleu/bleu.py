"""BLEU (Papineni et al., 2002) as sacrebleu computes it, on a 0-100 scale.

BLEU = BP * exp(mean over n = 1..4 of log p_n), where p_n is the clipped n-gram
precision of the whole corpus and BP = min(1, exp(1 - ref_len / sys_len)) the brevity
penalty. sacrebleu fixes the tokenisation (``tokenize="13a"`` by default), so scores are
comparable across papers. For text without spaces, such as Korean number words, use
``tokenize="char"`` (or report chrF): with "13a" a whole Korean number is one "word".
An evaluate metric module, loaded offline by path:
``evaluate.load("hf_lecture/metrics/bleu")`` or ``hf_lecture.metrics.load_metric("bleu")``.
"""

import datasets
import evaluate
from sacrebleu.metrics import BLEU

_CITATION = """\
@inproceedings{papineni-etal-2002-bleu,
    title = "{B}leu: a Method for Automatic Evaluation of Machine Translation",
    author = "Papineni, Kishore and Roukos, Salim and Ward, Todd and Zhu, Wei-Jing",
    booktitle = "Proceedings of ACL", year = "2002", pages = "311--318",
}
@inproceedings{post-2018-call,
    title = "A Call for Clarity in Reporting {BLEU} Scores",
    author = "Post, Matt", booktitle = "Proceedings of WMT", year = "2018", pages = "186--191",
}
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): the system's translations.
    references (list of str, or list of list of str): one reference, or several
        (the same number for every prediction), per prediction.
    tokenize (str): sacrebleu tokenizer: "13a" (default), "none", "char", "intl", "zh", ...
    lowercase (bool): compare lower-cased texts.
    smooth_method (str): "exp" (default), "floor", "add-k" or "none".
    smooth_value (float): the value for "floor" / "add-k".
    use_effective_order (bool): ignore n-gram orders with no matches (for sentence-level use).
Returns:
    score (float, 0-100), counts, totals, precisions (per n-gram order), brevity_penalty,
    sys_len, ref_len.
Example:
    >>> round(bleu.compute(predictions=["the cat sat on the mat"], references=[["the cat sat on the mat"]])["score"], 6)
    100.0
"""


class Bleu(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="BLEU computed with sacrebleu's corpus_score, 0-100.",
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
        tokenize="13a",
        lowercase=False,
        smooth_method="exp",
        smooth_value=None,
        use_effective_order=False,
    ):
        reference_streams = _reference_streams(references)
        bleu = BLEU(
            tokenize=tokenize,
            lowercase=lowercase,
            smooth_method=smooth_method,
            smooth_value=smooth_value,
            effective_order=use_effective_order,
        )
        result = bleu.corpus_score(list(predictions), reference_streams)
        return {
            "score": result.score,
            "counts": result.counts,
            "totals": result.totals,
            "precisions": result.precisions,
            "brevity_penalty": result.bp,
            "sys_len": result.sys_len,
            "ref_len": result.ref_len,
        }


def _reference_streams(references):
    """Per-prediction references -> sacrebleu's layout: one list per reference "stream"."""
    if references and isinstance(references[0], str):
        return [list(references)]
    counts = {len(refs) for refs in references}
    if len(counts) != 1:
        raise ValueError(f"every prediction needs the same number of references, got the counts {sorted(counts)}")
    return [list(stream) for stream in zip(*references)]
