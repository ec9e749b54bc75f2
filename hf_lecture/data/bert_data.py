"""BERT's pre-training data: masked language modelling (MLM) and next sentence prediction (NSP).

One example is built around one *anchor* sentence A of the corpus (a sentence that has a
next sentence in its document)::

    [CLS] A [SEP] B [SEP]        token_type_ids 0 ... 0 1 ... 1

* NSP (BERT paper, section 3.1, task #2): with probability 1/2, B is the sentence that
  follows A in its document (``next_sentence_label`` 0, IsNext); otherwise B is a random
  sentence of *another* document (1, NotNext), the labels of transformers' BERT.
  The pair is cut to ``max_length`` tokens as the tokenizer's ``truncation="longest_first"``
  does.
* MLM (task #1): 15% of the tokens are selected for prediction ([CLS], [SEP] and padding
  never are); of those, 80% become [MASK], 10% a random token, 10% stay as they are. The
  ``labels`` hold the original id at the selected positions and -100 (ignored) elsewhere.

Reproducible batches. Every random choice of an example (true or random B, which random
sentence, which tokens to mask and how) is drawn from its own numpy ``Generator``, seeded
with ``(seed, epoch, index)``; numpy's ``SeedSequence`` hashes the three into the seed. An
example is therefore a pure function of those three numbers: it does not depend on the
order of the calls, on what else was drawn, or on the global random state. The masking is
done in ``__getitem__``, so the collator only pads.

The dataset holds the epoch (``set_epoch``). Pass ``SetEpochCallback(dataset)`` to ``Trainer``:
it sets the epoch at the start of every epoch from the trainer's state, so each epoch sees new
pairs and masks, and a run resumed from a checkpoint (Trainer restores the sampler's order and
skips the batches already seen) gets exactly the batches of the uninterrupted run. Trainer's
own ``set_epoch`` call is not enough: accelerate's ``DataLoaderShard.set_epoch`` skips the
dataset when its batch sampler wraps a sampler with a ``set_epoch`` of its own, as in the
epoch that a resumed run re-enters (tests/test_bert_training.py checks the resumed batches). With
``dataloader_num_workers`` > 0, keep ``dataloader_persistent_workers=False`` so that the
workers see the new epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase, TrainerCallback

LABEL_PAD_ID = -100  # the index torch's cross-entropy ignores
IS_NEXT, NOT_NEXT = 0, 1  # next_sentence_label values, as in transformers' BERT


def example_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The random generator of one example: the same ``(seed, epoch, index)``, the same draws."""
    for name, value in (("seed", seed), ("epoch", epoch), ("index", index)):
        # SeedSequence reads each number as 32-bit words: larger ones could collide
        if not 0 <= value < 2**32:
            raise ValueError(f"{name} must be in [0, 2**32), got {value}")
    return np.random.default_rng([seed, epoch, index])


# --------------------------------------------------------------------------------------
# Masked language modelling
# --------------------------------------------------------------------------------------


@dataclass
class MaskedLMMasker:
    """BERT's masking rule: select ``mlm_probability`` of the tokens, then 80/10/10.

    Each non-special token is selected independently with probability ``mlm_probability``
    (as transformers' ``DataCollatorForLanguageModeling`` does). A selected token becomes
    ``[MASK]`` with probability ``mask_replace_prob``, a random non-special token with
    probability ``random_replace_prob``, and stays itself otherwise; the model must predict
    the original in all three cases, so it cannot trust that an unmasked token is right.
    """

    mask_token_id: int
    special_token_ids: Sequence[int]  # never selected: [CLS], [SEP], [PAD], ...
    vocab_size: int  # random replacements are drawn from [0, vocab_size) minus the special ids
    mlm_probability: float = 0.15  # share of tokens the model must predict
    mask_replace_prob: float = 0.8  # of the selected tokens: replaced by [MASK]
    random_replace_prob: float = 0.1  # of the selected tokens: replaced by a random token
    replacement_ids: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("mlm_probability", "mask_replace_prob", "random_replace_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.mask_replace_prob + self.random_replace_prob > 1.0:
            raise ValueError(
                "mask_replace_prob + random_replace_prob must be at most 1, got "
                f"{self.mask_replace_prob} + {self.random_replace_prob}"
            )
        self.replacement_ids = np.setdiff1d(np.arange(self.vocab_size), np.asarray(self.special_token_ids))
        if len(self.replacement_ids) == 0:
            raise ValueError(f"vocab_size {self.vocab_size} leaves no non-special token to draw")

    @classmethod
    def from_tokenizer(cls, tokenizer: PreTrainedTokenizerBase, mlm_probability: float = 0.15) -> "MaskedLMMasker":
        if tokenizer.mask_token_id is None:
            raise ValueError("the tokenizer has no mask_token; MLM needs one (e.g. '[MASK]')")
        return cls(tokenizer.mask_token_id, tokenizer.all_special_ids, len(tokenizer), mlm_probability)

    def __call__(self, input_ids: Sequence[int], rng: np.random.Generator) -> tuple[list[int], list[int]]:
        """Return ``(masked_input_ids, labels)`` for one sequence; ``labels`` is -100 where unselected."""
        ids = np.asarray(input_ids, dtype=np.int64)  # (T,)
        candidates = ~np.isin(ids, self.special_token_ids)
        selected = candidates & (rng.random(len(ids)) < self.mlm_probability)
        action = rng.random(len(ids))  # one draw per position decides [MASK] / random / keep
        to_mask = selected & (action < self.mask_replace_prob)
        to_random = selected & ~to_mask & (action < self.mask_replace_prob + self.random_replace_prob)

        masked = ids.copy()
        masked[to_mask] = self.mask_token_id
        masked[to_random] = rng.choice(self.replacement_ids, size=int(to_random.sum()))
        labels = np.where(selected, ids, LABEL_PAD_ID)
        return masked.tolist(), labels.tolist()


# --------------------------------------------------------------------------------------
# Sentence pairs
# --------------------------------------------------------------------------------------


def truncate_longest_first(ids_a: Sequence[int], ids_b: Sequence[int], max_tokens: int) -> tuple[list[int], list[int]]:
    """Cut a pair to ``max_tokens`` tokens from the end, the longer segment first.

    The rule of the ``tokenizers`` library's ``longest_first`` strategy, so a pair cut here
    equals ``tokenizer(a, b, truncation="longest_first", max_length=max_tokens + 3)``: the
    shorter segment keeps all its tokens but at most half of ``max_tokens``, and the longer
    one (B when they tie) gets the rest.
    """
    if len(ids_a) + len(ids_b) <= max_tokens:
        return list(ids_a), list(ids_b)
    if len(ids_a) > len(ids_b):
        keep_b = min(len(ids_b), max_tokens // 2)
        keep_a = max_tokens - keep_b
    else:
        keep_a = min(len(ids_a), max_tokens // 2)
        keep_b = max_tokens - keep_a
    return list(ids_a[:keep_a]), list(ids_b[:keep_b])


def split_documents(
    documents: Sequence[Sequence[str]], eval_fraction: float = 0.1, seed: int = 0
) -> tuple[list[list[str]], list[list[str]]]:
    """Split whole documents into ``(train, eval)``: no sentence of an eval document is trained on.

    The documents are shuffled with ``seed`` first; the eval part gets at least two
    documents (NSP's random sentences come from another document).
    """
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be in (0, 1), got {eval_fraction}")
    num_eval = max(2, round(eval_fraction * len(documents)))
    if len(documents) < num_eval + 2:
        raise ValueError(f"need at least {num_eval + 2} documents to split off {num_eval}, got {len(documents)}")
    order = np.random.default_rng(seed).permutation(len(documents))
    shuffled = [list(documents[i]) for i in order]
    return shuffled[num_eval:], shuffled[:num_eval]


class BertPretrainingDataset(torch.utils.data.Dataset):
    """MLM + NSP examples from documents (lists of sentences); one example per anchor sentence.

    ``dataset[i]`` is ``{"input_ids", "token_type_ids", "labels", "next_sentence_label"}``
    (lists of ints and an int) at the current epoch (``set_epoch``); ``example(i, epoch)``
    gives any epoch's. Sentences are tokenised once, here. ``max_length`` counts the three
    special tokens and may not exceed the tokenizer's ``model_max_length``.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        documents: Sequence[Sequence[str]],
        max_length: int = 128,
        seed: int = 0,
        mlm_probability: float = 0.15,
        next_sentence_probability: float = 0.5,
    ):
        if not 5 <= max_length <= tokenizer.model_max_length:
            raise ValueError(
                f"max_length must be in [5, tokenizer.model_max_length={tokenizer.model_max_length}] "
                f"([CLS] A [SEP] B [SEP] needs 5 tokens), got {max_length}"
            )
        if not 0.0 <= next_sentence_probability <= 1.0:
            raise ValueError(f"next_sentence_probability must be in [0, 1], got {next_sentence_probability}")
        if len(documents) < 2:
            raise ValueError(f"NSP needs at least 2 documents (random sentences come from another one), got {len(documents)}")
        example_rng(seed, 0, 0)  # validates the seed

        self.max_length = max_length
        self.seed = seed
        self.next_sentence_probability = next_sentence_probability
        self.epoch = 0
        self.masker = MaskedLMMasker.from_tokenizer(tokenizer, mlm_probability)
        self.cls_token_id, self.sep_token_id = tokenizer.cls_token_id, tokenizer.sep_token_id

        sentences = [sentence for document in documents for sentence in document]
        self.sentence_ids: list[list[int]] = tokenizer(sentences, add_special_tokens=False, verbose=False)["input_ids"]
        # Documents are contiguous runs of sentences: document d is sentences [starts[d], ends[d]).
        lengths = np.array([len(document) for document in documents])
        self.document_ends = np.cumsum(lengths)
        self.document_starts = self.document_ends - lengths
        self.document_of = np.repeat(np.arange(len(documents)), lengths)  # sentence -> document
        self.anchors = [i for i in range(len(sentences) - 1) if self.document_of[i] == self.document_of[i + 1]]
        if not self.anchors:
            raise ValueError("no document has two sentences, so there is no true next sentence for NSP")

    def __len__(self) -> int:
        return len(self.anchors)

    def set_epoch(self, epoch: int) -> None:
        """Make ``dataset[i]`` return epoch ``epoch``'s example (``SetEpochCallback`` calls this)."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict:
        return self.example(index, self.epoch)

    def example(self, index: int, epoch: int) -> dict:
        """The example ``index`` of epoch ``epoch``: a pure function of ``(seed, epoch, index)``."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} examples")
        rng = example_rng(self.seed, epoch, index)
        anchor = self.anchors[index]
        if rng.random() < self.next_sentence_probability:
            partner, next_sentence_label = anchor + 1, IS_NEXT
        else:
            partner, next_sentence_label = self._sentence_of_another_document(anchor, rng), NOT_NEXT

        ids_a, ids_b = truncate_longest_first(
            self.sentence_ids[anchor], self.sentence_ids[partner], self.max_length - 3
        )
        input_ids = [self.cls_token_id, *ids_a, self.sep_token_id, *ids_b, self.sep_token_id]
        token_type_ids = [0] * (len(ids_a) + 2) + [1] * (len(ids_b) + 1)
        input_ids, labels = self.masker(input_ids, rng)
        return {
            "input_ids": input_ids,
            "token_type_ids": token_type_ids,
            "labels": labels,
            "next_sentence_label": next_sentence_label,
        }

    def _sentence_of_another_document(self, sentence: int, rng: np.random.Generator) -> int:
        """A sentence drawn uniformly from all sentences outside ``sentence``'s document."""
        document = self.document_of[sentence]
        start, end = self.document_starts[document], self.document_ends[document]
        drawn = int(rng.integers(len(self.document_of) - (end - start)))
        return drawn if drawn < start else drawn + (end - start)  # skip over the own document


class SetEpochCallback(TrainerCallback):
    """Tell a dataset with ``set_epoch`` which epoch ``Trainer`` is starting, also when resuming.

    ``state.epoch`` is the fractional epoch reached so far (1.5 halfway through the second
    epoch of a resumed run), so the epoch being started is its integer part.
    """

    def __init__(self, dataset: BertPretrainingDataset):
        self.dataset = dataset

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.dataset.set_epoch(int(state.epoch or 0))


# --------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------


def pad_sequences(sequences: Sequence[Sequence[int]], value: int, pad_to_multiple_of: int | None = None) -> torch.Tensor:
    """Right-pad lists of ints with ``value`` to the longest (rounded up to ``pad_to_multiple_of``): (B, T)."""
    length = max(len(sequence) for sequence in sequences)
    if pad_to_multiple_of:
        length = -(-length // pad_to_multiple_of) * pad_to_multiple_of
    return torch.tensor([list(sequence) + [value] * (length - len(sequence)) for sequence in sequences], dtype=torch.long)


@dataclass
class BertPretrainingCollator:
    """Pad MLM + NSP examples into a batch for ``LectureBertForPreTraining`` (or transformers' BERT).

    ``input_ids`` are padded with ``pad_token_id``, ``token_type_ids`` with 0 and ``labels``
    with -100, on the right, to the longest example; ``attention_mask`` is 1 on real tokens.
    The examples arrive already masked (see the module docstring), so this holds no randomness.
    """

    pad_token_id: int = 0
    pad_to_multiple_of: int | None = None  # round lengths up, e.g. 8 for tensor cores

    def __call__(self, features: Sequence[dict]) -> dict[str, torch.Tensor]:
        if not features:
            raise ValueError("BertPretrainingCollator got an empty list of features")
        for key in ("input_ids", "token_type_ids", "labels", "next_sentence_label"):
            if any(key not in feature for feature in features):
                raise ValueError(f"every feature needs {key!r}; got the keys {sorted(features[0])}")
        input_ids = pad_sequences([f["input_ids"] for f in features], self.pad_token_id, self.pad_to_multiple_of)
        lengths = torch.tensor([len(f["input_ids"]) for f in features])
        return {
            "input_ids": input_ids,  # (B, T)
            "token_type_ids": pad_sequences([f["token_type_ids"] for f in features], 0, self.pad_to_multiple_of),
            "attention_mask": (torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]).long(),  # (B, T)
            "labels": pad_sequences([f["labels"] for f in features], LABEL_PAD_ID, self.pad_to_multiple_of),
            "next_sentence_label": torch.tensor([int(f["next_sentence_label"]) for f in features]),  # (B,)
        }
