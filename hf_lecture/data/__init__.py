"""Offline data for the lecture's models: corpora, tokenizers, datasets and collators."""

# --- BERT: corpus, WordPiece tokenizer, MLM + NSP pre-training, the word-order task ---
from .bert_data import (
    IS_NEXT,
    NOT_NEXT,
    BertPretrainingCollator,
    BertPretrainingDataset,
    MaskedLMMasker,
    SetEpochCallback,
    example_rng,
    pad_sequences,
    split_documents,
    truncate_longest_first,
)
from .corpus import documents_from_dataset, documents_from_text_files, python_reference_documents, split_sentences
from .tokenizer import SPECIAL_TOKENS, train_wordpiece_tokenizer
from .word_order import WORD_ORDER_LABELS, word_order_dataset, word_order_splits

__all__ = [
    # BERT
    "IS_NEXT",
    "NOT_NEXT",
    "SPECIAL_TOKENS",
    "WORD_ORDER_LABELS",
    "BertPretrainingCollator",
    "BertPretrainingDataset",
    "MaskedLMMasker",
    "SetEpochCallback",
    "documents_from_dataset",
    "documents_from_text_files",
    "example_rng",
    "pad_sequences",
    "python_reference_documents",
    "split_documents",
    "split_sentences",
    "train_wordpiece_tokenizer",
    "truncate_longest_first",
    "word_order_dataset",
    "word_order_splits",
]

# --- encoder-decoder: translation pairs, number words (en -> ko), the reversal task ---
from .numbers import number_translation_dataset, number_words, train_number_tokenizer  # noqa: E402
from .translation import (  # noqa: E402
    Seq2SeqCollator,
    reversal_dataset,
    tokenize_pairs,
    train_word_char_tokenizer,
    translation_pairs_from_file,
)

__all__ += [
    "Seq2SeqCollator",
    "number_translation_dataset",
    "number_words",
    "reversal_dataset",
    "tokenize_pairs",
    "train_number_tokenizer",
    "train_word_char_tokenizer",
    "translation_pairs_from_file",
]
