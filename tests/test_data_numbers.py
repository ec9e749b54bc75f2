"""Number-translation data, the word/character tokenizer, pair loading, collation, reversal task."""

import json

import pytest
import torch
from datasets import Dataset, DatasetDict
from transformers import AutoTokenizer, DataCollatorForSeq2Seq

from hf_lecture.data.numbers import number_translation_dataset, number_words, train_number_tokenizer
from hf_lecture.data.translation import (
    Seq2SeqCollator,
    reversal_dataset,
    tokenize_pairs,
    train_word_char_tokenizer,
    translation_pairs_from_file,
)


@pytest.fixture(scope="module")
def numbers():
    return number_translation_dataset(0, 10_000, seed=0)


@pytest.fixture(scope="module")
def tokenizer(numbers):
    return train_number_tokenizer(numbers)


# --- number words -----------------------------------------------------------------------


def test_number_words_english_and_korean():
    assert number_words(663, "en") == "six hundred and sixty-three"
    assert number_words(663, "ko") == "육백육십삼"
    assert number_words(1100, "en") == "one thousand one hundred"  # num2words' comma dropped
    assert number_words(12345, "ko") == "만 이천삼백사십오"  # the space after the 만 group stays
    assert number_words(0, "ko") == "영"


def test_number_words_rejects_bad_input():
    with pytest.raises(ValueError, match="number must be >= 0"):
        number_words(-1, "en")
    with pytest.raises(ValueError, match="does not know the language 'xx'"):
        number_words(3, "xx")


# --- the split ----------------------------------------------------------------------------


def test_splits_partition_the_range_and_hold_out_unseen_numbers(numbers):
    assert list(numbers) == ["train", "validation", "test"]
    train, validation, test = (set(numbers[s]["number"]) for s in ("train", "validation", "test"))
    assert (len(train), len(validation), len(test)) == (8500, 500, 1000)
    assert train | validation | test == set(range(10_000))
    assert not train & test and not train & validation and not validation & test
    assert set(range(100)) <= train  # the words no rule can produce are always learnt
    row = numbers["test"][0]
    assert row["source"] == number_words(row["number"], "en") and row["target"] == number_words(row["number"], "ko")


def test_split_is_deterministic_by_seed():
    a = number_translation_dataset(0, 2000, seed=3)["test"]["number"]
    b = number_translation_dataset(0, 2000, seed=3)["test"]["number"]
    c = number_translation_dataset(0, 2000, seed=4)["test"]["number"]
    assert list(a) == list(b) and list(a) != list(c)


def test_split_options_and_errors():
    reverse = number_translation_dataset(0, 500, source_lang="ko", target_lang="en", validation_fraction=0.0)
    assert list(reverse) == ["train", "test"] and reverse["train"][7]["target"] == "seven"
    with pytest.raises(ValueError, match="start < stop"):
        number_translation_dataset(10, 10)
    with pytest.raises(ValueError, match="test_fraction must be in"):
        number_translation_dataset(0, 100, test_fraction=1.5)
    with pytest.raises(ValueError, match="test_fraction \\+ validation_fraction must be < 1"):
        number_translation_dataset(0, 100, test_fraction=0.5, validation_fraction=0.5)
    with pytest.raises(ValueError, match="always_train_below=100"):
        number_translation_dataset(0, 120, test_fraction=0.5)


# --- tokenizer ----------------------------------------------------------------------------


def test_special_token_ids_and_eos(tokenizer):
    assert [tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id] == [0, 1, 2, 3]
    assert tokenizer.convert_ids_to_tokens(tokenizer("sixty-three thousand")["input_ids"]) == [
        "sixty", "-", "three", "▁", "thousand", "</s>"
    ]
    assert tokenizer.convert_ids_to_tokens(tokenizer("천 이백")["input_ids"]) == ["천", "▁", "이", "백", "</s>"]
    # one id per word wherever it stands: "one" alone, after a hyphen, before "hundred"
    one = tokenizer.convert_tokens_to_ids("one")
    assert tokenizer("one")["input_ids"][0] == tokenizer("twenty-one")["input_ids"][2] == one
    assert tokenizer("one hundred")["input_ids"][0] == one


def test_round_trip_of_every_text(numbers, tokenizer):
    for split in numbers.values():
        for column in ("source", "target"):
            texts = list(split[column])
            encoded = tokenizer(texts)["input_ids"]
            assert all(ids[-1] == tokenizer.eos_token_id for ids in encoded)
            assert all(tokenizer.unk_token_id not in ids for ids in encoded)  # test words were all seen
            assert tokenizer.batch_decode(encoded, skip_special_tokens=True) == texts


def test_round_trip_with_korean_spaces():
    texts = [number_words(n, lang) for n in (10_001, 12_345, 99_999, 100_000) for lang in ("en", "ko")]
    tokenizer = train_word_char_tokenizer(texts)
    assert tokenizer.batch_decode(tokenizer(texts)["input_ids"], skip_special_tokens=True) == texts
    assert tokenizer.decode(tokenizer("Ninety")["input_ids"], skip_special_tokens=True) == "ninety"  # lower-cased


def test_tokenizer_saves_and_reloads_with_auto_tokenizer(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    texts = ["nine thousand nine hundred and ninety-nine", "구천구백구십구"]
    assert reloaded(texts)["input_ids"] == tokenizer(texts)["input_ids"]
    assert reloaded.batch_decode(reloaded(texts)["input_ids"], skip_special_tokens=True) == texts
    assert (reloaded.pad_token_id, reloaded.eos_token_id, len(reloaded)) == (0, 2, len(tokenizer))


# --- loading pairs from files -------------------------------------------------------------


def test_pairs_from_csv_json_jsonl_and_disk(tmp_path):
    rows = [{"en": "one", "ko": "일"}, {"en": "two", "ko": "이"}]
    (tmp_path / "p.csv").write_text("en,ko\none,일\ntwo,이\n", encoding="utf-8")
    (tmp_path / "p.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    (tmp_path / "p.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "single"))
    DatasetDict({"train": Dataset.from_list(rows), "test": Dataset.from_list(rows[:1])}).save_to_disk(str(tmp_path / "dict"))
    for name in ("p.csv", "p.jsonl", "p.json", "single", "dict"):
        pairs = translation_pairs_from_file(tmp_path / name, source_column="en", target_column="ko")
        assert pairs.column_names == ["source", "target"], name
        assert pairs[:] == {"source": ["one", "two"], "target": ["일", "이"]}, name


def test_pairs_from_file_errors_name_file_and_problem(tmp_path):
    with pytest.raises(ValueError, match="nope.csv' does not exist"):
        translation_pairs_from_file(tmp_path / "nope.csv")
    (tmp_path / "p.csv").write_text("source,tgt\none,일\n", encoding="utf-8")
    with pytest.raises(ValueError, match="p.csv' has no column 'target' \\(target_column\\)"):
        translation_pairs_from_file(tmp_path / "p.csv")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty.csv' is empty"):
        translation_pairs_from_file(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("source,target\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header.csv' holds no rows"):
        translation_pairs_from_file(tmp_path / "header.csv")
    (tmp_path / "blank.csv").write_text('source,target\none,일\ntwo," "\n', encoding="utf-8")
    with pytest.raises(ValueError, match="column 'target' is empty in rows \\[1\\]"):
        translation_pairs_from_file(tmp_path / "blank.csv")
    (tmp_path / "p.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="p.txt' must end in one of"):
        translation_pairs_from_file(tmp_path / "p.txt")


# --- tokenising and collating -------------------------------------------------------------


def test_tokenize_pairs_and_collate(numbers, tokenizer):
    small = tokenize_pairs(numbers["test"].select(range(4)), tokenizer, max_length=32)
    row = small[0]
    assert row["input_ids"] == tokenizer(row["source"])["input_ids"]
    assert row["labels"] == tokenizer(row["target"])["input_ids"] and row["labels"][-1] == 2

    batch = Seq2SeqCollator()([small[i] for i in range(4)])
    lengths = [len(small[i]["input_ids"]) for i in range(4)]
    label_lengths = [len(small[i]["labels"]) for i in range(4)]
    assert batch["input_ids"].shape == (4, max(lengths)) and batch["labels"].shape == (4, max(label_lengths))
    assert batch["attention_mask"].sum(1).tolist() == lengths
    assert (batch["input_ids"][batch["attention_mask"] == 0] == 0).all()
    assert (batch["labels"] == -100).sum().item() == 4 * max(label_lengths) - sum(label_lengths)
    assert set(batch) == {"input_ids", "attention_mask", "labels"}  # the text columns are dropped

    # the same batch as transformers' own collator builds (without a model)
    features = [{k: small[i][k] for k in ("input_ids", "attention_mask", "labels")} for i in range(4)]
    reference = DataCollatorForSeq2Seq(tokenizer, return_tensors="pt")(features)
    for key in ("input_ids", "attention_mask", "labels"):
        assert torch.equal(batch[key], reference[key]), key


def test_tokenize_pairs_truncates_and_checks_columns(numbers, tokenizer):
    short = tokenize_pairs(numbers["test"].select(range(20)), tokenizer, max_length=4)
    assert max(len(ids) for ids in short["input_ids"]) == 4
    with pytest.raises(ValueError, match="missing \\['target'\\]"):
        tokenize_pairs(Dataset.from_dict({"source": ["one"]}), tokenizer)
    with pytest.raises(ValueError, match="max_length must be at least 2"):
        tokenize_pairs(numbers["test"], tokenizer, max_length=1)


def test_collator_pads_to_multiple_and_rejects_bad_features():
    batch = Seq2SeqCollator(pad_to_multiple_of=8)([{"input_ids": [5, 2], "labels": [6, 7, 2]}])
    assert batch["input_ids"].tolist() == [[5, 2, 0, 0, 0, 0, 0, 0]]
    assert batch["labels"].tolist() == [[6, 7, 2] + [-100] * 5]
    with pytest.raises(ValueError, match="every feature needs 'labels'"):
        Seq2SeqCollator()([{"input_ids": [5, 2]}])
    with pytest.raises(ValueError, match="empty list"):
        Seq2SeqCollator()([])


# --- reversal task ------------------------------------------------------------------------


def test_reversal_dataset():
    data = reversal_dataset(num_examples=50, vocab_size=12, min_len=2, max_len=5, seed=1)
    assert len(data) == 50 and data[:] == reversal_dataset(50, 12, 2, 5, seed=1)[:]
    assert data[:] != reversal_dataset(50, 12, 2, 5, seed=2)[:]
    for source, target in zip(data["input_ids"], data["labels"]):
        assert source[-1] == target[-1] == 2 and target[:-1] == source[:-1][::-1]
        assert 2 <= len(source) - 1 <= 5 and all(3 <= t < 12 for t in source[:-1])
    assert {len(s) - 1 for s in data["input_ids"]} == {2, 3, 4, 5}
    with pytest.raises(ValueError, match="vocab_size must be at least 4"):
        reversal_dataset(5, 3)
    with pytest.raises(ValueError, match="min_len <= max_len"):
        reversal_dataset(5, 10, min_len=4, max_len=3)
    with pytest.raises(ValueError, match="num_examples must be at least 1"):
        reversal_dataset(0, 10)


def test_collated_batch_trains_the_encoder_decoder(numbers, tokenizer):
    from hf_lecture import LectureTransformerConfig, LectureTransformerForConditionalGeneration

    config = LectureTransformerConfig(
        vocab_size=len(tokenizer), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
    )
    model = LectureTransformerForConditionalGeneration(config)
    small = tokenize_pairs(numbers["train"].select(range(100, 108)), tokenizer, max_length=32)
    batch = DataCollatorForSeq2Seq(tokenizer, model=model, return_tensors="pt")(
        [{k: small[i][k] for k in ("input_ids", "attention_mask", "labels")} for i in range(8)]
    )
    assert (batch["decoder_input_ids"][:, 0] == tokenizer.bos_token_id).all()  # Marian-style shift
    loss = model(**Seq2SeqCollator()([small[i] for i in range(8)])).loss
    assert torch.isfinite(loss) and abs(loss.item() - torch.log(torch.tensor(len(tokenizer))).item()) < 1.5
