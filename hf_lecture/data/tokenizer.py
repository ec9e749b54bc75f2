"""BERT's WordPiece tokenizer, trained locally with the ``tokenizers`` library.

The pipeline is BERT's: a normaliser (clean control characters, lowercase, strip accents),
a pre-tokeniser (split at whitespace and punctuation), the WordPiece model (greedy longest
match; a piece inside a word is written ``##piece``) and the templates that add BERT's
special tokens::

    single:  [CLS] A [SEP]              token_type_ids  0 0 0
    pair:    [CLS] A [SEP] B [SEP]      token_type_ids  0 0 0 1 1   (segment embeddings)

The result is transformers' own ``BertTokenizer``, which in transformers v5 *is* the
``tokenizers``-backed ("fast") class: it saves with ``save_pretrained`` and comes back with
``AutoTokenizer.from_pretrained(folder)``, no hub needed.
"""

from __future__ import annotations

from typing import Iterable

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import BertTokenizer

# BERT's special tokens, in the order the trainer gives them ids: [PAD] is 0, as BERT's
# config (pad_token_id=0) expects.
PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, SEP_TOKEN, MASK_TOKEN = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = [PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, SEP_TOKEN, MASK_TOKEN]


def train_wordpiece_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 2000,
    min_frequency: int = 2,
    model_max_length: int = 128,
) -> BertTokenizer:
    """Learn a WordPiece vocabulary of at most ``vocab_size`` pieces from ``texts``.

    ``min_frequency`` is how often a piece must occur to be kept; ``model_max_length`` is
    the longest input the model will take (its ``max_position_embeddings``), which
    ``truncation=True`` then respects. The ids are ``[PAD]`` 0, ``[UNK]`` 1, ``[CLS]`` 2,
    ``[SEP]`` 3, ``[MASK]`` 4, then the characters, then the longer pieces.

    The vocabulary can differ by a few pieces between two runs on the same text: the
    ``tokenizers`` trainer breaks ties between equally frequent merges in hash-map order
    (huggingface/tokenizers#1794). Save the tokenizer with the model (``save_pretrained``)
    and reload it, rather than training it again, when a run must be reproduced.
    """
    if vocab_size <= len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size must be larger than the {len(SPECIAL_TOKENS)} special tokens, got {vocab_size}")
    if min_frequency < 1:
        raise ValueError(f"min_frequency must be at least 1, got {min_frequency}")
    if model_max_length < 3:
        raise ValueError(f"model_max_length must fit at least [CLS] x [SEP] (3 tokens), got {model_max_length}")

    backend = Tokenizer(models.WordPiece(unk_token=UNK_TOKEN))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)  # clean text, lowercase, strip accents
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()  # split at whitespace and punctuation
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS, show_progress=False
    )
    backend.train_from_iterator(texts, trainer)
    vocab = backend.get_vocab()
    if len(vocab) == len(SPECIAL_TOKENS):
        raise ValueError("texts held no text to learn a vocabulary from")

    # transformers' BertTokenizer wraps the vocabulary in the same normaliser and
    # pre-tokeniser (lowercase, as trained above) and adds the [CLS]/[SEP] templates and the
    # "##" decoder (tests check that the training text then has no [UNK]).
    return BertTokenizer(
        vocab=vocab,
        do_lower_case=True,
        unk_token=UNK_TOKEN,
        sep_token=SEP_TOKEN,
        pad_token=PAD_TOKEN,
        cls_token=CLS_TOKEN,
        mask_token=MASK_TOKEN,
        model_max_length=model_max_length,
    )
