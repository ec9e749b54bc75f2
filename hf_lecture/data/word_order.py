"""The lecture's word-order task: is this sentence in its original order, or shuffled?

Each corpus sentence appears twice: as written (label 1, ``original``) and with its words
shuffled (label 0, ``shuffled``). Both versions hold exactly the same words, so the only
evidence is the order. A model that cannot see positions (no position embeddings, and a
pooling that ignores where a token sits, such as the mean) gives both versions the same
representation and so the same prediction: it is right on exactly one of the two, 50%.
That is why :func:`word_order_splits` keeps the two versions of a sentence in the same
split (``pair_id``), and why BERT needs position embeddings.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

WORD_ORDER_LABELS = ["shuffled", "original"]  # label ids 0 and 1


def word_order_dataset(
    documents: Sequence[Sequence[str]],
    seed: int = 0,
    min_words: int = 5,
    max_words: int = 24,
    max_sentences: int | None = None,
) -> Dataset:
    """Sentences and their word-shuffled copies: columns ``text``, ``label``, ``pair_id``.

    Kept are the distinct sentences of ``min_words`` to ``max_words`` words (split at
    whitespace; punctuation stays attached to its word). With ``max_sentences``, that
    many are drawn. Every sentence gives two rows with the same ``pair_id``: the sentence
    (label 1) and a permutation of its words that differs from it (label 0), so the
    labels are exactly balanced. Same ``seed``, same rows.
    """
    if not 2 <= min_words <= max_words:
        raise ValueError(f"need 2 <= min_words <= max_words, got min_words={min_words}, max_words={max_words}")
    rng = np.random.default_rng(seed)
    sentences = sorted({s for document in documents for s in document if min_words <= len(s.split()) <= max_words})
    sentences = [s for s in sentences if len(set(s.split())) >= 2]  # one repeated word cannot be shuffled
    if not sentences:
        raise ValueError(f"no sentence of {min_words} to {max_words} words with two different words")
    order = rng.permutation(len(sentences))
    if max_sentences is not None:
        if max_sentences < 1:
            raise ValueError(f"max_sentences must be at least 1, got {max_sentences}")
        order = order[:max_sentences]

    texts, labels, pair_ids = [], [], []
    for pair_id, sentence_index in enumerate(order):
        words = sentences[sentence_index].split()
        shuffled = words
        while shuffled == words:  # a permutation may give the sentence back; draw again
            shuffled = [words[i] for i in rng.permutation(len(words))]
        texts += [" ".join(words), " ".join(shuffled)]
        labels += [WORD_ORDER_LABELS.index("original"), WORD_ORDER_LABELS.index("shuffled")]
        pair_ids += [pair_id, pair_id]
    features = Features({"text": Value("string"), "label": ClassLabel(names=WORD_ORDER_LABELS), "pair_id": Value("int64")})
    return Dataset.from_dict({"text": texts, "label": labels, "pair_id": pair_ids}, features=features)


def word_order_splits(dataset: Dataset, test_size: float = 0.2, seed: int = 0) -> DatasetDict:
    """Split into ``train`` / ``test`` by ``pair_id``: a sentence and its shuffle share a split.

    Splitting rows instead would let a model see a test sentence's other version in
    training. ``test_size`` is the share of pairs that go to ``test``.
    """
    if "pair_id" not in dataset.column_names:
        raise ValueError(f"word_order_splits needs a 'pair_id' column; the columns are {dataset.column_names}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    pair_ids = np.unique(dataset["pair_id"])
    num_test = round(test_size * len(pair_ids))
    if not 0 < num_test < len(pair_ids):
        raise ValueError(f"test_size={test_size} of {len(pair_ids)} pairs leaves an empty split")
    test_pairs = set(np.random.default_rng(seed).permutation(pair_ids)[:num_test].tolist())
    is_test = [pair_id in test_pairs for pair_id in dataset["pair_id"]]
    return DatasetDict(
        {
            "train": dataset.select([i for i, test in enumerate(is_test) if not test]),
            "test": dataset.select([i for i, test in enumerate(is_test) if test]),
        }
    )
