"""The "seq2seq-generation" pipeline that replaces v5's removed text2text-generation / translation."""

import pytest
import torch
from transformers import pipeline

from hf_lecture import LectureTransformerConfig, LectureTransformerForConditionalGeneration
from hf_lecture.data.numbers import number_translation_dataset
from hf_lecture.data.translation import train_word_char_tokenizer


@pytest.fixture(scope="module")
def model_and_tokenizer():
    pairs = number_translation_dataset(0, 300, test_fraction=0.1, validation_fraction=0.0)["train"]
    tokenizer = train_word_char_tokenizer(list(pairs["source"]) + list(pairs["target"]))
    config = LectureTransformerConfig(
        vocab_size=len(tokenizer), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
    )  # fmt: skip
    torch.manual_seed(0)
    return LectureTransformerForConditionalGeneration(config).eval(), tokenizer


def expected(model, tokenizer, text, **kwargs):
    ids = model.generate(**tokenizer(text, return_tensors="pt"), **kwargs)
    return [t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True)]


def test_pipeline_from_objects_passes_generate_kwargs_through(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    generator = pipeline("seq2seq-generation", model=model, tokenizer=tokenizer, num_beams=3, max_new_tokens=5)
    out = generator("six hundred and sixty-three")
    assert [o["generated_text"] for o in out] == expected(model, tokenizer, "six hundred and sixty-three", num_beams=3, max_new_tokens=5)
    # per-call kwargs override the construction-time ones
    out = generator("twelve", num_beams=4, num_return_sequences=3, max_new_tokens=4)
    assert len(out) == 3 and all(set(o) == {"generated_text"} for o in out)
    assert [o["generated_text"] for o in out] == expected(model, tokenizer, "twelve", num_beams=4, num_return_sequences=3, max_new_tokens=4)
    batch = generator(["one", "two"], max_new_tokens=3)
    assert len(batch) == 2 and batch[1] == generator("two", max_new_tokens=3)


def test_pipeline_from_a_saved_folder(model_and_tokenizer, tmp_path):
    model, tokenizer = model_and_tokenizer
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    generator = pipeline("seq2seq-generation", model=str(tmp_path), num_beams=2, max_new_tokens=6)
    assert type(generator.model).__name__ == "LectureTransformerForConditionalGeneration"
    assert generator("seven")[0]["generated_text"] == expected(model, tokenizer, "seven", num_beams=2, max_new_tokens=6)[0]


def test_pipeline_rejects_empty_and_non_text_input(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    generator = pipeline("seq2seq-generation", model=model, tokenizer=tokenizer, max_new_tokens=3)
    with pytest.raises(ValueError, match="source text is empty"):
        generator("   ")
    with pytest.raises(ValueError, match="takes a source text"):
        generator(42)
