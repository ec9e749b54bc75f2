"""BERT's data: corpus, WordPiece tokenizer, MLM masking, NSP pairs, collator, word-order task."""

from collections import Counter

import numpy as np
import pytest
import torch
from datasets import Dataset
from transformers import AutoTokenizer, BertTokenizer

from hf_lecture.data import (
    IS_NEXT,
    NOT_NEXT,
    SPECIAL_TOKENS,
    BertPretrainingCollator,
    BertPretrainingDataset,
    MaskedLMMasker,
    documents_from_dataset,
    documents_from_text_files,
    example_rng,
    python_reference_documents,
    split_documents,
    split_sentences,
    train_wordpiece_tokenizer,
    truncate_longest_first,
    word_order_dataset,
    word_order_splits,
)


@pytest.fixture(scope="module")
def documents():
    return python_reference_documents()


@pytest.fixture(scope="module")
def tokenizer(documents):
    return train_wordpiece_tokenizer([s for d in documents for s in d], vocab_size=2000, model_max_length=128)


@pytest.fixture(scope="module")
def dataset(tokenizer, documents):
    return BertPretrainingDataset(tokenizer, documents, max_length=64, seed=3)


# --------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------


def test_python_reference_corpus_is_prose_documents(documents):
    assert len(documents) >= 60
    sentences = [s for d in documents for s in d]
    assert len(sentences) >= 1500
    assert all(len(d) >= 2 for d in documents)
    assert all(s[-1] in ".!?\"')”" and len(s.split()) >= 4 for s in sentences)
    assert not any(">>>" in s or "::=" in s or "\n" in s for s in sentences)
    assert python_reference_documents() == documents  # same text on every call


def test_split_sentences_rules():
    text = "The value is\nreturned, e.g. by a call. It is quite short!  Here it is:\nAnd x = [1] + {2} + (3) = $$$$ +=+ ok. Tiny one."
    assert split_sentences(text) == ["The value is returned, e.g. by a call.", "It is quite short!"]
    assert split_sentences("One two three four. Five six.", min_words=2) == ["One two three four.", "Five six."]
    assert split_sentences("Code points (i.e. their numbers) are small. So e.g. Python uses them.") == [
        "Code points (i.e. their numbers) are small.",
        "So e.g. Python uses them.",
    ]


def test_documents_from_text_files_blocks(tmp_path):
    first = tmp_path / "a.txt"
    first.write_text("A first sentence is here. A second one\nfollows it.\n\n\nThe next document starts. It ends right now.\n")
    second = tmp_path / "b.txt"
    second.write_text("Only one sentence lives in this file.")
    documents = documents_from_text_files([first, second])
    assert documents == [
        ["A first sentence is here.", "A second one follows it."],
        ["The next document starts.", "It ends right now."],
        ["Only one sentence lives in this file."],
    ]
    assert documents_from_text_files(str(second)) == documents[2:]


def test_documents_from_text_files_bad_path(tmp_path):
    missing = tmp_path / "missing.txt"
    with pytest.raises(ValueError, match="missing.txt"):
        documents_from_text_files(missing)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match="empty.txt"):
        documents_from_text_files(empty)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="binary.txt"):
        documents_from_text_files(binary)


def test_documents_from_dataset_rows_are_documents():
    rows = Dataset.from_dict({"text": ["Row one has a sentence. And a second sentence here.", "", "Row three is alone here."]})
    assert documents_from_dataset(rows) == [
        ["Row one has a sentence.", "And a second sentence here."],
        ["Row three is alone here."],
    ]
    with pytest.raises(ValueError, match="'body'"):
        documents_from_dataset(rows, column="body")


def test_split_documents_is_disjoint_and_seeded(documents):
    train, held_out = split_documents(documents, eval_fraction=0.1, seed=1)
    assert len(held_out) == round(0.1 * len(documents)) and len(train) + len(held_out) == len(documents)
    assert not {tuple(d) for d in train} & {tuple(d) for d in held_out}
    assert split_documents(documents, 0.1, seed=1) == (train, held_out)
    assert split_documents(documents, 0.1, seed=2) != (train, held_out)
    with pytest.raises(ValueError, match="eval_fraction"):
        split_documents(documents, eval_fraction=1.0)


# --------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------


def test_tokenizer_special_tokens_and_pairs(tokenizer):
    assert isinstance(tokenizer, BertTokenizer) and tokenizer.is_fast
    assert tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS) == [0, 1, 2, 3, 4]
    assert (tokenizer.pad_token_id, tokenizer.mask_token_id, tokenizer.model_max_length) == (0, 4, 128)
    assert len(tokenizer) == 2000
    assert tokenizer.tokenize("The Class is DEFINED.") == ["the", "class", "is", "defined", "."]
    pair = tokenizer("The Class is defined.", "It is a type.")
    tokens = tokenizer.convert_ids_to_tokens(pair["input_ids"])
    assert tokens == ["[CLS]", "the", "class", "is", "defined", ".", "[SEP]", "it", "is", "a", "type", ".", "[SEP]"]
    assert pair["token_type_ids"] == [0] * 7 + [1] * 6
    assert tokenizer("Hello")["token_type_ids"] == [0] * len(tokenizer("Hello")["input_ids"])


def test_tokenizer_covers_its_training_text(tokenizer, documents):
    # The wrapper must normalise (lowercase) as the vocabulary was trained: no [UNK] on the corpus.
    ids = tokenizer([s for d in documents for s in d], add_special_tokens=False)["input_ids"]
    assert sum(i == tokenizer.unk_token_id for row in ids for i in row) == 0
    assert tokenizer.decode(tokenizer("Unpacking Iterables!")["input_ids"], skip_special_tokens=True) == "unpacking iterables!"


def test_tokenizer_round_trip_through_auto_tokenizer(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert type(reloaded) is BertTokenizer and reloaded.model_max_length == 128
    texts = ["A class definition is an executable statement.", "Ünïcode Wörds, [MASK] and numbers 123."]
    assert reloaded(texts)["input_ids"] == tokenizer(texts)["input_ids"]
    pair = reloaded(texts[0], texts[1])
    assert pair == tokenizer(texts[0], texts[1])
    first_sep = pair["input_ids"].index(tokenizer.sep_token_id)
    assert pair["token_type_ids"] == [0] * (first_sep + 1) + [1] * (len(pair["input_ids"]) - first_sep - 1)
    assert reloaded.mask_token_id == 4 and reloaded.convert_ids_to_tokens(4) == "[MASK]"


def test_tokenizer_bad_arguments():
    with pytest.raises(ValueError, match="vocab_size"):
        train_wordpiece_tokenizer(["some text here"], vocab_size=5)
    with pytest.raises(ValueError, match="no text"):
        train_wordpiece_tokenizer([], vocab_size=100)


# --------------------------------------------------------------------------------------
# MLM masking
# --------------------------------------------------------------------------------------


def test_example_rng_is_a_pure_function_of_its_triple():
    first = example_rng(7, 2, 11).random(5)
    example_rng(7, 2, 12).random(100)  # other draws in between change nothing
    np.random.seed(123)
    torch.manual_seed(123)
    assert np.array_equal(example_rng(7, 2, 11).random(5), first)
    assert not np.array_equal(example_rng(7, 3, 11).random(5), first)
    assert not np.array_equal(example_rng(7, 11, 2).random(5), first)
    with pytest.raises(ValueError, match="seed"):
        example_rng(-1, 0, 0)


def test_masking_ratios_and_special_tokens():
    cls_id, sep_id, pad_id, mask_id = 2, 3, 0, 4
    masker = MaskedLMMasker(mask_token_id=mask_id, special_token_ids=[0, 1, 2, 3, 4], vocab_size=1000)
    rng = np.random.default_rng(0)
    selected = masked = randomised = kept = candidates = 0
    for _ in range(400):
        body = rng.integers(5, 1000, size=500).tolist()
        ids = [cls_id, *body[:250], sep_id, *body[250:], sep_id, pad_id, pad_id]
        new_ids, labels = masker(ids, rng)
        for position in (0, 251, 502, 503, 504):  # [CLS], [SEP], [SEP], [PAD], [PAD]
            assert labels[position] == -100 and new_ids[position] == ids[position]
        for old, new, label in zip(ids, new_ids, labels):
            if label == -100:
                assert new == old  # unselected tokens are untouched
                continue
            assert label == old
            selected += 1
            masked += new == mask_id
            randomised += new not in (mask_id, old)
            kept += new == old
            assert new == mask_id or new >= 5  # a random replacement is never a special token
        candidates += 500
    assert abs(selected / candidates - 0.15) < 0.005
    assert abs(masked / selected - 0.8) < 0.01
    assert abs(randomised / selected - 0.1) < 0.01
    assert abs(kept / selected - 0.1) < 0.01


def test_masker_validates_probabilities():
    with pytest.raises(ValueError, match="mlm_probability"):
        MaskedLMMasker(mask_token_id=4, special_token_ids=[0], vocab_size=10, mlm_probability=1.5)
    with pytest.raises(ValueError, match="mask_replace_prob"):
        MaskedLMMasker(4, [0], 10, mask_replace_prob=0.9, random_replace_prob=0.2)


def test_examples_are_pure_functions_of_seed_epoch_index(dataset, tokenizer, documents):
    indices = [5, 17, 400, 1000]
    first = [dataset.example(i, 2) for i in indices]
    for i in reversed(range(0, 1200, 7)):  # other examples, other epochs, another order
        dataset.example(i, i % 4)
    torch.manual_seed(99)
    np.random.seed(99)
    assert [dataset.example(i, 2) for i in reversed(indices)] == first[::-1]
    # the epoch set by set_epoch is the one __getitem__ uses
    dataset.set_epoch(2)
    try:
        assert [dataset[i] for i in indices] == first
    finally:
        dataset.set_epoch(0)
    # a new dataset with the same seed gives the same examples; other epochs and seeds differ
    same = BertPretrainingDataset(tokenizer, documents, max_length=64, seed=3)
    assert [same.example(i, 2) for i in indices] == first
    other_epoch = [dataset.example(i, 3) for i in indices]
    other_seed = [BertPretrainingDataset(tokenizer, documents, max_length=64, seed=4).example(i, 2) for i in indices]
    assert all(a != b for a, b in zip(first, other_epoch))
    assert all(a != b for a, b in zip(first, other_seed))


def test_pretraining_examples_never_mask_special_tokens(dataset, tokenizer):
    selected = total = 0
    for index in range(0, len(dataset), 3):
        example = dataset[index]
        ids, labels = example["input_ids"], example["labels"]
        assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
        assert ids.count(tokenizer.sep_token_id) >= 2
        for position, token in enumerate(ids):
            if token in (tokenizer.cls_token_id, tokenizer.sep_token_id):
                assert labels[position] == -100
        selected += sum(label != -100 for label in labels)
        total += len(ids) - 3
    assert abs(selected / total - 0.15) < 0.01


# --------------------------------------------------------------------------------------
# NSP pairs
# --------------------------------------------------------------------------------------


def test_next_sentence_pairs(tokenizer, documents):
    unmasked = BertPretrainingDataset(tokenizer, documents, max_length=128, seed=0, mlm_probability=0.0)
    sentences = [s for d in documents for s in d]
    document_of = [d for d, doc in enumerate(documents) for _ in doc]
    sentence_ids = tokenizer(sentences, add_special_tokens=False, verbose=False)["input_ids"]
    labels = Counter()
    for index in range(len(unmasked)):
        example = unmasked[index]
        assert all(label == -100 for label in example["labels"])
        anchor = unmasked.anchors[index]
        first_sep = example["input_ids"].index(tokenizer.sep_token_id)
        segment_b = example["input_ids"][first_sep + 1 : -1]
        label = example["next_sentence_label"]
        labels[label] += 1
        if label == IS_NEXT:
            assert document_of[anchor + 1] == document_of[anchor]
            assert sentence_ids[anchor + 1][: len(segment_b)] == segment_b
        else:
            sources = [j for j, ids in enumerate(sentence_ids) if ids[: len(segment_b)] == segment_b]
            assert any(document_of[j] != document_of[anchor] for j in sources)
    assert labels.keys() == {IS_NEXT, NOT_NEXT}
    assert abs(labels[IS_NEXT] / len(unmasked) - 0.5) < 0.05
    assert IS_NEXT == 0 and NOT_NEXT == 1  # transformers' convention


def test_pairs_are_truncated_longest_first_like_the_tokenizer(tokenizer, documents):
    max_length = 24
    short = BertPretrainingDataset(tokenizer, documents, max_length=max_length, seed=1, mlm_probability=0.0)
    sentences = [s for d in documents for s in d]
    checked = 0
    for index in range(0, len(short), 5):
        example = short[index]
        assert len(example["input_ids"]) <= max_length
        assert len(example["token_type_ids"]) == len(example["input_ids"]) == len(example["labels"])
        if example["next_sentence_label"] == IS_NEXT:
            anchor = short.anchors[index]
            expected = tokenizer(
                sentences[anchor], sentences[anchor + 1], truncation="longest_first", max_length=max_length
            )
            assert example["input_ids"] == expected["input_ids"]
            assert example["token_type_ids"] == expected["token_type_ids"]
            checked += 1
    assert checked > 50
    assert truncate_longest_first([1, 2, 3, 4, 5, 6], [7, 8], 5) == ([1, 2, 3], [7, 8])
    assert truncate_longest_first([1, 2, 3], [4, 5, 6], 3) == ([1], [4, 5])  # a tie: B gets the odd token
    assert truncate_longest_first(list(range(11)), [7, 8, 9, 10, 11], 5) == ([0, 1, 2], [7, 8])
    assert truncate_longest_first([1, 2], list(range(9)), 20) == ([1, 2], list(range(9)))


def test_pretraining_dataset_validates(tokenizer, documents):
    with pytest.raises(ValueError, match="max_length"):
        BertPretrainingDataset(tokenizer, documents, max_length=129)
    with pytest.raises(ValueError, match="at least 2 documents"):
        BertPretrainingDataset(tokenizer, documents[:1])
    with pytest.raises(ValueError, match="two sentences"):
        BertPretrainingDataset(tokenizer, [["One sentence only."], ["Another lone sentence."]])
    with pytest.raises(ValueError, match="seed"):
        BertPretrainingDataset(tokenizer, documents, seed=-3)


# --------------------------------------------------------------------------------------
# Collator
# --------------------------------------------------------------------------------------


def test_collator_pads_into_a_batch(dataset):
    features = [dataset[i] for i in (0, 1, 2, 3, 4)]
    lengths = [len(f["input_ids"]) for f in features]
    batch = BertPretrainingCollator(pad_token_id=0)(features)
    assert set(batch) == {"input_ids", "token_type_ids", "attention_mask", "labels", "next_sentence_label"}
    assert all(tensor.dtype == torch.long for tensor in batch.values())
    assert batch["input_ids"].shape == (5, max(lengths)) and batch["next_sentence_label"].shape == (5,)
    assert batch["attention_mask"].sum(dim=1).tolist() == lengths
    for row, length in enumerate(lengths):
        assert batch["input_ids"][row, :length].tolist() == features[row]["input_ids"]
        assert batch["labels"][row, :length].tolist() == features[row]["labels"]
        assert (batch["input_ids"][row, length:] == 0).all() and (batch["labels"][row, length:] == -100).all()
        assert (batch["token_type_ids"][row, length:] == 0).all()
    assert batch["next_sentence_label"].tolist() == [f["next_sentence_label"] for f in features]
    padded = BertPretrainingCollator(pad_to_multiple_of=16)(features)
    assert padded["input_ids"].shape[1] % 16 == 0 and padded["input_ids"].shape[1] >= max(lengths)


def test_collator_rejects_bad_features(dataset):
    with pytest.raises(ValueError, match="empty"):
        BertPretrainingCollator()([])
    with pytest.raises(ValueError, match="next_sentence_label"):
        BertPretrainingCollator()([{k: v for k, v in dataset[0].items() if k != "next_sentence_label"}])


# --------------------------------------------------------------------------------------
# Word-order task
# --------------------------------------------------------------------------------------


def test_word_order_dataset(documents):
    rows = word_order_dataset(documents, seed=0, max_sentences=300)
    assert rows.column_names == ["text", "label", "pair_id"] and len(rows) == 600
    assert rows.features["label"].names == ["shuffled", "original"]
    corpus = {s for d in documents for s in d}
    by_pair = {}
    for row in rows:
        by_pair.setdefault(row["pair_id"], {})[row["label"]] = row["text"]
    assert len(by_pair) == 300
    for pair in by_pair.values():
        original, shuffled = pair[1], pair[0]
        assert original in corpus and shuffled != original
        assert sorted(original.split()) == sorted(shuffled.split())
        assert 5 <= len(original.split()) <= 24
    assert word_order_dataset(documents, seed=0, max_sentences=300)["text"] == rows["text"]
    assert word_order_dataset(documents, seed=1, max_sentences=300)["text"] != rows["text"]


def test_word_order_splits_keep_pairs_together(documents):
    splits = word_order_splits(word_order_dataset(documents, seed=0, max_sentences=200), test_size=0.25, seed=0)
    train_pairs, test_pairs = set(splits["train"]["pair_id"]), set(splits["test"]["pair_id"])
    assert len(test_pairs) == 50 and len(train_pairs) == 150 and not train_pairs & test_pairs
    assert Counter(splits["test"]["label"]) == {0: 50, 1: 50}
    with pytest.raises(ValueError, match="pair_id"):
        word_order_splits(Dataset.from_dict({"text": ["a b"], "label": [1]}))
