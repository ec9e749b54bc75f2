"""Proof that the from-scratch encoder-decoder computes what transformers' Marian computes."""

import pytest
import torch
from transformers import MarianConfig, MarianForCausalLM, MarianModel, MarianMTModel

from hf_lecture import (
    LectureTransformerForCausalLM,
    LectureTransformerForConditionalGeneration,
    LectureTransformerModel,
)
from hf_lecture.convert import from_transformers, to_transformers

PAD = 59


def marian_config(**overrides) -> MarianConfig:
    fields = dict(
        vocab_size=60, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
        pad_token_id=PAD, decoder_start_token_id=PAD, eos_token_id=0, bos_token_id=None, forced_eos_token_id=None,
    )  # fmt: skip
    return MarianConfig(**{**fields, **overrides})


def padded_batch():
    input_ids = torch.randint(1, PAD, (3, 9))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 6:] = 0
    attention_mask[2, 3:] = 0
    input_ids[attention_mask == 0] = PAD
    return input_ids, attention_mask


def randomise_logits_bias(model):
    with torch.no_grad():
        model.final_logits_bias.normal_()  # zero after init: give it values so the test covers it


@pytest.mark.parametrize(
    "marian_class, ours_class, config_overrides",
    [
        (MarianMTModel, LectureTransformerForConditionalGeneration, {}),
        (MarianMTModel, LectureTransformerForConditionalGeneration, {"scale_embedding": True, "activation_function": "relu"}),
        (MarianMTModel, LectureTransformerForConditionalGeneration, {"d_model": 18, "encoder_attention_heads": 3, "decoder_attention_heads": 3}),
        (MarianModel, LectureTransformerModel, {}),
    ],
)
def test_marian_logits_match_on_a_padded_batch(marian_class, ours_class, config_overrides):
    theirs = marian_class(marian_config(**config_overrides)).eval()
    if hasattr(theirs, "final_logits_bias"):
        randomise_logits_bias(theirs)
    ours = from_transformers(theirs)
    assert type(ours) is ours_class and ours.config.sinusoidal_layout == "halves"
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = torch.randint(1, PAD, (3, 6))
    decoder_attention_mask = torch.ones_like(decoder_input_ids)
    decoder_attention_mask[2, 4:] = 0
    with torch.no_grad():
        expected = theirs(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                          decoder_attention_mask=decoder_attention_mask)[0]  # fmt: skip
        got = ours(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids,
                   decoder_attention_mask=decoder_attention_mask)[0]  # fmt: skip
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_marian_beam_search_outputs_are_identical():
    theirs = MarianMTModel(marian_config()).eval()
    randomise_logits_bias(theirs)
    ours = from_transformers(theirs)
    input_ids, attention_mask = padded_batch()
    for kwargs in (dict(num_beams=4, num_return_sequences=2), dict(num_beams=1)):
        expected = theirs.generate(input_ids, attention_mask=attention_mask, max_new_tokens=12, **kwargs)
        got = ours.generate(input_ids, attention_mask=attention_mask, max_new_tokens=12, **kwargs)
        assert torch.equal(got, expected), kwargs


def test_marian_causal_lm_matches():
    theirs = MarianForCausalLM(marian_config(is_encoder_decoder=False, is_decoder=True)).eval()
    ours = from_transformers(theirs)
    assert isinstance(ours, LectureTransformerForCausalLM)
    input_ids = torch.randint(1, PAD, (2, 8))
    with torch.no_grad():
        torch.testing.assert_close(ours(input_ids).logits, theirs(input_ids).logits, atol=1e-5, rtol=1e-5)
    assert torch.equal(
        ours.generate(input_ids, max_new_tokens=6, do_sample=False),
        theirs.generate(input_ids, max_new_tokens=6, do_sample=False),
    )


def test_round_trip_back_to_marian():
    theirs = MarianMTModel(marian_config()).eval()
    randomise_logits_bias(theirs)
    back = to_transformers(from_transformers(theirs))
    assert isinstance(back, MarianMTModel)
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = torch.randint(1, PAD, (3, 4))
    with torch.no_grad():
        torch.testing.assert_close(
            back(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids).logits,
            theirs(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids).logits,
        )


def test_unsupported_models_get_a_clear_error():
    with pytest.raises(ValueError, match="no converter for Linear"):
        from_transformers(torch.nn.Linear(2, 2))
