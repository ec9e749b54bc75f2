"""A translation task small enough to train on a laptop: number words, English -> Korean.

``663`` gives the pair ``("six hundred and sixty-three", "육백육십삼")``. The words come
from ``num2words``, so the corpus is built offline, and exact, so exact match is a fair
metric. The task is compositional: the model has to learn the words for the digits, the
teens and the tens, and the rules that put them together (English "six hundred and
sixty-three" -> Korean 육 백 육 십 삼, "six hundred six ten three"), then apply them to
numbers it has never seen. The held-out splits test exactly that.
"""

from __future__ import annotations

import random
import re

from datasets import Dataset, DatasetDict
from num2words import num2words
from transformers import PreTrainedTokenizerFast

from .translation import train_word_char_tokenizer


def number_words(number: int, lang: str) -> str:
    """``num2words`` with its punctuation tidied: commas dropped, single spaces.

    English: 1100 -> "one thousand one hundred" (num2words writes "one thousand, one
    hundred"; the comma carries no meaning and would be one more thing to learn). Korean
    keeps num2words' spacing, a space after each 만 group (12345 -> "만 이천삼백사십오"),
    which is the standard spelling.
    """
    if number < 0:
        raise ValueError(f"number must be >= 0, got {number}")
    try:
        words = num2words(number, lang=lang)
    except NotImplementedError:
        raise ValueError(f"num2words does not know the language {lang!r}") from None
    return re.sub(r"\s+", " ", words.replace(",", " ")).strip()


def number_translation_dataset(
    start: int = 0,
    stop: int = 10_000,
    *,
    source_lang: str = "en",
    target_lang: str = "ko",
    test_fraction: float = 0.1,
    validation_fraction: float = 0.05,
    always_train_below: int = 100,
    seed: int = 0,
) -> DatasetDict:
    """Pairs for every integer in ``[start, stop)``, split by number into train / validation / test.

    Columns: ``number`` (int), ``source`` and ``target`` (strings in ``source_lang`` and
    ``target_lang``). Every number lands in exactly one split, so validation and test hold
    only numbers never seen in training. The numbers below ``always_train_below`` are always
    in train: they carry the vocabulary that no rule can produce (zero, eleven ... nineteen,
    twenty ... ninety; 영), and a model cannot guess a word it has never read. The others
    are shuffled with ``seed`` and ``test_fraction`` / ``validation_fraction`` of them are
    held out (the fractions are of the whole range; with no validation, pass 0).
    """
    if not 0 <= start < stop:
        raise ValueError(f"need 0 <= start < stop, got start={start}, stop={stop}")
    for name, value in (("test_fraction", test_fraction), ("validation_fraction", validation_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if test_fraction + validation_fraction >= 1:
        raise ValueError(
            f"test_fraction + validation_fraction must be < 1 (train needs numbers), got {test_fraction + validation_fraction}"
        )

    numbers = list(range(start, stop))
    fixed = [n for n in numbers if n < always_train_below]
    free = [n for n in numbers if n >= always_train_below]
    random.Random(seed).shuffle(free)
    num_test = round(test_fraction * len(numbers))
    num_validation = round(validation_fraction * len(numbers))
    if num_test + num_validation > len(free):
        raise ValueError(
            f"cannot hold out {num_test + num_validation} numbers: only {len(free)} of [{start}, {stop}) are "
            f">= always_train_below={always_train_below}"
        )
    held_out = {"test": free[:num_test], "validation": free[num_test : num_test + num_validation]}
    held_out["train"] = fixed + free[num_test + num_validation :]

    def pairs(split_numbers: list[int]) -> Dataset:
        split_numbers = sorted(split_numbers)
        return Dataset.from_dict(
            {
                "number": split_numbers,
                "source": [number_words(n, source_lang) for n in split_numbers],
                "target": [number_words(n, target_lang) for n in split_numbers],
            }
        )

    return DatasetDict(
        {split: pairs(held_out[split]) for split in ("train", "validation", "test") if held_out[split]}
    )


def train_number_tokenizer(dataset: DatasetDict | Dataset) -> PreTrainedTokenizerFast:
    """The shared source/target tokenizer (see ``train_word_char_tokenizer``), trained on the
    ``source`` and ``target`` texts of the train split only."""
    train = dataset["train"] if isinstance(dataset, DatasetDict) else dataset
    return train_word_char_tokenizer(list(train["source"]) + list(train["target"]))
