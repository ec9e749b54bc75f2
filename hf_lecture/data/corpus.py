"""Plain-text corpora as documents: lists of sentences, ready for BERT's pre-training tasks.

A *document* is a list of sentences in reading order. BERT's next-sentence task needs that
structure: a true pair is two consecutive sentences of one document, a false pair takes its
second sentence from another document.

The offline corpus is the Python language reference that ships with the standard library
(``pydoc_data.topics``: about 80 topics, 450k characters of English prose), one document per
topic. Nothing is downloaded. Your own text comes in through :func:`documents_from_text_files`
(blank-line-separated blocks of a file are documents) or :func:`documents_from_dataset` (each
row of a ``datasets`` text column is a document).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Sequence

from datasets import Dataset

# A sentence ends at . ! or ? (maybe followed by a closing quote or bracket), and the next one
# starts with a capital letter, a digit or an opening quote/bracket; "e.g." and "i.e." end none.
_SENTENCE_END = re.compile(r"(?<!e\.g\.)(?<!i\.e\.)(?<=[.!?])[\"'”)\]]?\s+(?=[A-Z0-9\"“(])")
_FOOTNOTE = re.compile(r"\s*\[\d+\]")  # reference marks such as "[5]"
_UNDERLINE = re.compile(r"^([*=\-~^#])\1{2,}$")  # "*****", "=====": the line under a heading
_CODE_MARKS = (">>>", "::=", "...:", "$ ")


def split_sentences(text: str, min_words: int = 4) -> list[str]:
    """Split running prose into sentences with simple, predictable rules.

    Whitespace (newlines included) is collapsed to single spaces and footnote marks such as
    ``[5]`` are removed. A sentence ends at ``.``, ``!`` or ``?`` followed by a space and a
    capital letter, digit or opening quote (never after "e.g." or "i.e."). Kept are the pieces that end with ``.``, ``!`` or
    ``?``, have at least ``min_words`` words and look like prose (mostly letters, no prompt
    or grammar marks such as ``>>>`` or ``::=``); a fragment that ends with ``:`` (the line
    that introduces a code sample) is dropped.
    """
    text = _FOOTNOTE.sub("", " ".join(text.split()))
    pieces = (piece.strip() for piece in _SENTENCE_END.split(text))
    return [piece for piece in pieces if _is_prose_sentence(piece, min_words)]


def _is_prose_sentence(sentence: str, min_words: int) -> bool:
    if len(sentence.split()) < min_words or sentence[-1] not in ".!?\"')”":
        return False
    if any(mark in sentence for mark in _CODE_MARKS):
        return False
    letters = sum(character.isalpha() or character.isspace() for character in sentence)
    return letters >= 0.8 * len(sentence)  # code and tables are mostly symbols


def _prose_paragraphs(text: str) -> list[str]:
    """The paragraphs of reStructuredText-like text that are prose, not code, tables or headings.

    Paragraphs are separated by blank lines. Dropped: indented blocks (code samples and grammar
    rules are indented in the reference), tables (lines starting with ``+`` or ``|``) and
    headings (a line followed by an underline such as ``*****``). A bullet's ``* `` is removed.
    """
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines or lines[0].startswith((" ", "\t", "+", "|")):
            continue
        if len(lines) == 2 and _UNDERLINE.match(lines[1].strip()):
            continue  # a heading
        lines = [line.removeprefix("* ").replace("**", "") for line in lines]
        # "re-" at the end of a line and "raises" on the next are one word, "re-raises"
        paragraphs.append(re.sub(r"(?<=\w-)\n", "", "\n".join(lines)).replace("\n", " "))
    return paragraphs


def python_reference_documents(min_words: int = 4) -> list[list[str]]:
    """The offline corpus: Python's language reference, one document (list of sentences) per topic.

    The text is ``pydoc_data.topics.topics`` from the standard library, so it is the same on
    every machine with the same Python minor version. Topics are taken in sorted order;
    code samples, grammar rules, tables and headings are dropped (see ``split_sentences``);
    topics left with fewer than two sentences are skipped.
    """
    from pydoc_data.topics import topics

    documents = []
    for name in sorted(topics):
        sentences = [s for p in _prose_paragraphs(topics[name]) for s in split_sentences(p, min_words)]
        if len(sentences) >= 2:
            documents.append(sentences)
    return documents


def documents_from_text_files(paths: str | os.PathLike | Sequence[str | os.PathLike], min_words: int = 4) -> list[list[str]]:
    """Read documents from UTF-8 text files: each blank-line-separated block is one document.

    This is the layout of BERT's own pre-training input (documents separated by blank lines).
    Within a block, lines are joined and split into sentences with ``split_sentences``, so
    both one sentence per line and wrapped prose work. Blocks that yield no sentence are
    skipped. A path that does not exist or is not a readable text file raises a ``ValueError``
    naming it, and so does a set of files that yields no sentence at all.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not paths:
        raise ValueError("documents_from_text_files needs at least one path")
    documents = []
    for path in map(Path, paths):
        if not path.is_file():
            raise ValueError(f"text file {str(path)!r} does not exist or is not a file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"could not read text file {str(path)!r} as UTF-8: {error}") from None
        documents.extend(_documents_from_blocks(re.split(r"\n\s*\n", text), min_words))
    if not documents:
        raise ValueError(f"the text files {[str(p) for p in paths]} hold no sentence of at least {min_words} words")
    return documents


def documents_from_dataset(dataset: Dataset, column: str = "text", min_words: int = 4) -> list[list[str]]:
    """Read documents from a ``datasets.Dataset``: each row of ``column`` is one document.

    The granularity is the dataset's: ``load_dataset("text", data_files=..., sample_by="paragraph")``
    gives one document per blank-line-separated block, ``sample_by="document"`` one per file
    (the default, ``"line"``, makes every line a document, which leaves few true next
    sentences). Rows that yield no sentence are skipped.
    """
    if column not in dataset.column_names:
        raise ValueError(f"the dataset has no column {column!r}; its columns are {dataset.column_names}")
    documents = _documents_from_blocks(dataset[column], min_words)
    if not documents:
        raise ValueError(f"column {column!r} holds no sentence of at least {min_words} words")
    return documents


def _documents_from_blocks(blocks: Iterable[str | None], min_words: int) -> list[list[str]]:
    documents = [split_sentences(block or "", min_words) for block in blocks]
    return [sentences for sentences in documents if sentences]
