"""Translation pairs for the encoder-decoder: loading, a small locally trained tokenizer,
tokenisation into ``input_ids`` / ``labels``, and the padding collator for ``Trainer``.

A translation example is a pair of strings, ``source`` (what the encoder reads) and
``target`` (what the decoder must write). For training, the target becomes ``labels``: its
token ids followed by ``</s>``. The model shifts the labels right itself (Marian style,
``decoder_start_token_id`` first), so the collator only pads; label padding is ``-100``,
the index the cross-entropy loss ignores.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
from datasets import Dataset, DatasetDict, load_from_disk
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from .bert_data import pad_sequences

# Special tokens and their ids, in the order the trainer gives them ids. They match the
# encoder-decoder config's defaults (pad 0, bos = decoder start 1, eos 2).
PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, UNK_TOKEN = "<pad>", "<s>", "</s>", "<unk>"
SPECIAL_TOKENS = [PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, UNK_TOKEN]
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
LABEL_PAD_ID = -100  # the index torch's cross-entropy ignores

SPACE = "▁"  # a space, as SentencePiece (and so Marian) writes it inside a token

_FILE_SUFFIXES = (".csv", ".json", ".jsonl", ".tsv")


# --------------------------------------------------------------------------------------
# Loading pairs
# --------------------------------------------------------------------------------------


def translation_pairs_from_file(
    path: str | os.PathLike, source_column: str = "source", target_column: str = "target"
) -> Dataset:
    """Read translation pairs from a csv / tsv / json / jsonl file or a ``save_to_disk`` folder.

    Returns a ``Dataset`` with exactly the columns ``source`` and ``target`` (renamed from
    ``source_column`` / ``target_column``), both strings. A ``DatasetDict`` folder must hold
    a single split, or a ``train`` split, which is the one returned.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"translation file {str(path)!r} does not exist")
    if path.is_dir():
        try:
            loaded = load_from_disk(str(path))
        except FileNotFoundError as error:
            raise ValueError(f"{str(path)!r} is a folder but not one written by save_to_disk: {error}") from None
        if isinstance(loaded, DatasetDict):
            if "train" in loaded:
                loaded = loaded["train"]
            elif len(loaded) == 1:
                loaded = next(iter(loaded.values()))
            else:
                raise ValueError(
                    f"{str(path)!r} holds the splits {sorted(loaded)}; expected one split or a 'train' split"
                )
    else:
        loaded = _read_table(path)
    for role, column in (("source_column", source_column), ("target_column", target_column)):
        if column not in loaded.column_names:
            raise ValueError(
                f"translation file {str(path)!r} has no column {column!r} ({role}); its columns are {loaded.column_names}"
            )
    if len(loaded) == 0:
        raise ValueError(f"translation file {str(path)!r} holds no rows")

    loaded = loaded.select_columns([source_column, target_column])
    pairs = Dataset.from_dict(
        {
            "source": [str(text) for text in loaded[source_column]],
            "target": [str(text) for text in loaded[target_column]],
        }
    )
    for column in ("source", "target"):
        empty = [i for i, text in enumerate(pairs[column]) if not text.strip()]
        if empty:
            raise ValueError(f"translation file {str(path)!r}: column {column!r} is empty in rows {empty[:5]}")
    return pairs


def _read_table(path: Path) -> Dataset:
    """A csv / tsv file (header row first), a json list of records or a dict of columns, or
    json lines (one record per line), as a Dataset."""
    suffix = path.suffix.lower()
    if suffix not in _FILE_SUFFIXES:
        raise ValueError(f"translation file {str(path)!r} must end in one of {list(_FILE_SUFFIXES)}, got {suffix!r}")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise ValueError(f"translation file {str(path)!r} is empty")
    try:
        if suffix in (".csv", ".tsv"):
            reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
            rows = list(reader)  # a missing field reads as None, then as an empty text
            return Dataset.from_dict({column: [row[column] or "" for row in rows] for column in reader.fieldnames})
        if suffix == ".jsonl":
            return Dataset.from_list([json.loads(line) for line in text.splitlines() if line.strip()])
        records = json.loads(text)
        return Dataset.from_dict(records) if isinstance(records, dict) else Dataset.from_list(records)
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # json / arrow errors
        raise ValueError(f"could not read translation file {str(path)!r}: {error}") from None


# --------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------


def train_word_char_tokenizer(texts: Iterable[str]) -> PreTrainedTokenizerFast:
    """Train a shared source/target vocabulary of Latin words, single characters and spaces.

    The pieces, for ``"twenty-one"`` and ``"만 이천"``::

        twenty  -  one            (a Latin word is one token; "-" and "," are tokens)
        만  ▁  이  천             (every other character is one token; a space is "▁")

    Why this split: the number task is compositional. An English number word ("twenty",
    "hundred") is one unit of meaning, so it is one token; Korean writes numbers by gluing
    characters without spaces (육백육십삼 = 육 백 육 십 삼, "six hundred six ten three"),
    so each character is one token. A space is a token of its own (``▁``) rather than a
    mark glued to the next word, as SentencePiece does, so that every word and character
    has exactly one id wherever it stands ("one" in "one hundred" and in "twenty-one" is
    the same token); the model then learns one rule per word, not one per position.

    Decoding fuses the pieces and turns ``▁`` back into a space, so
    ``decode(encode(text), skip_special_tokens=True) == text`` for any text of the
    vocabulary, once lower-cased and NFC-normalised. Encoding appends ``</s>``.
    Special tokens: ``<pad>`` 0, ``<s>`` 1 (beginning, and the decoder start), ``</s>`` 2,
    ``<unk>`` 3. The result saves with ``save_pretrained`` and loads with ``AutoTokenizer``.
    """
    backend = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
    backend.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # spaces -> "▁", with none added at the start
            pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="never", split=False),
            # a run of Latin letters is one piece; any other character is a piece of its own
            pre_tokenizers.Split(Regex("[a-z]+|."), behavior="isolated"),
        ]
    )
    backend.decoder = decoders.Metaspace(replacement=SPACE, prepend_scheme="never", split=False)
    backend.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=SPECIAL_TOKENS))
    if [backend.token_to_id(token) for token in SPECIAL_TOKENS] != [PAD_ID, BOS_ID, EOS_ID, UNK_ID]:
        raise RuntimeError("the special tokens did not get the ids 0, 1, 2, 3")
    # Every encoded text ends with </s>: the labels then teach the decoder where to stop.
    backend.post_processor = processors.TemplateProcessing(
        single=f"$A {EOS_TOKEN}", pair=f"$A {EOS_TOKEN} $B {EOS_TOKEN}", special_tokens=[(EOS_TOKEN, EOS_ID)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD_TOKEN,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=UNK_TOKEN,
        clean_up_tokenization_spaces=False,  # the decoder already restores the exact spaces
        padding_side="right",
    )


# --------------------------------------------------------------------------------------
# Tokenising pairs and collating batches
# --------------------------------------------------------------------------------------


def tokenize_pairs(
    dataset: Dataset | DatasetDict, tokenizer: PreTrainedTokenizerFast, max_length: int = 64
) -> Dataset | DatasetDict:
    """Add ``input_ids``, ``attention_mask`` (from ``source``) and ``labels`` (from ``target``).

    Both sides end with ``</s>`` and are cut to ``max_length`` tokens. The original columns
    stay (the collator ignores them), so evaluation can still read the strings.
    """
    if max_length < 2:
        raise ValueError(f"max_length must be at least 2 (one token and </s>), got {max_length}")
    splits = dataset.values() if isinstance(dataset, DatasetDict) else [dataset]
    for split in splits:
        missing = {"source", "target"} - set(split.column_names)
        if missing:
            raise ValueError(f"tokenize_pairs needs the columns 'source' and 'target'; missing {sorted(missing)}")

    def tokenize(batch: dict) -> dict:
        encoded = tokenizer(batch["source"], max_length=max_length, truncation=True)
        encoded["labels"] = tokenizer(text_target=batch["target"], max_length=max_length, truncation=True)["input_ids"]
        return encoded

    return dataset.map(tokenize, batched=True)


@dataclass
class Seq2SeqCollator:
    """Pad a list of examples into a batch for an encoder-decoder.

    Each example holds ``input_ids`` and ``labels`` (lists of ints; ``attention_mask`` is
    rebuilt). ``input_ids`` are padded with ``pad_token_id`` and ``labels`` with ``-100``,
    both on the right; other keys (the text columns) are dropped. The model makes its own
    ``decoder_input_ids`` from the labels, so none are built here. Works with or without a
    tokenizer (e.g. for the synthetic reversal task).
    """

    pad_token_id: int = PAD_ID
    label_pad_token_id: int = LABEL_PAD_ID
    pad_to_multiple_of: int | None = None  # round lengths up, e.g. 8 for tensor cores

    def __call__(self, features: Sequence[dict]) -> dict[str, torch.Tensor]:
        if not features:
            raise ValueError("Seq2SeqCollator got an empty list of features")
        for key in ("input_ids", "labels"):
            if any(key not in feature for feature in features):
                raise ValueError(f"every feature needs {key!r}; got the keys {sorted(features[0])}")
        input_ids = pad_sequences([f["input_ids"] for f in features], self.pad_token_id, self.pad_to_multiple_of)  # (B, S)
        labels = pad_sequences([f["labels"] for f in features], self.label_pad_token_id, self.pad_to_multiple_of)  # (B, T)
        lengths = torch.tensor([len(f["input_ids"]) for f in features])
        attention_mask = (torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]).long()  # (B, S)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


# --------------------------------------------------------------------------------------
# A synthetic task: reverse the sequence
# --------------------------------------------------------------------------------------


def reversal_dataset(
    num_examples: int, vocab_size: int, min_len: int = 3, max_len: int = 8, seed: int = 0
) -> Dataset:
    """Random token sequences and their reversal, a task an encoder-decoder learns in minutes.

    ``input_ids`` is ``x_1 .. x_n </s>`` and ``labels`` is ``x_n .. x_1 </s>``, with the
    ``x_i`` drawn uniformly from ``[3, vocab_size)``: ids 0, 1, 2 stay reserved for
    ``<pad>``, ``<s>`` (the decoder start) and ``</s>``, as in the model config's defaults.
    The lengths ``n`` are uniform in ``[min_len, max_len]``. Same seed, same data.
    """
    if num_examples < 1:
        raise ValueError(f"num_examples must be at least 1, got {num_examples}")
    if vocab_size < 4:
        raise ValueError(f"vocab_size must be at least 4 (ids 0-2 are special), got {vocab_size}")
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got min_len={min_len}, max_len={max_len}")
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(min_len, max_len + 1, (num_examples,), generator=generator).tolist()
    sources = [torch.randint(EOS_ID + 1, vocab_size, (n,), generator=generator).tolist() for n in lengths]
    return Dataset.from_dict(
        {
            "input_ids": [tokens + [EOS_ID] for tokens in sources],
            "labels": [tokens[::-1] + [EOS_ID] for tokens in sources],
        }
    )
