"""Proof that the from-scratch ViT computes what transformers' ViT computes (same weights, same logits)."""

import pytest
import torch
from transformers import AutoModelForImageClassification, ViTConfig, ViTForImageClassification, ViTModel

from hf_lecture import LectureViTForImageClassification, LectureViTModel
from hf_lecture.convert import from_transformers, to_transformers


def vit_config(**overrides) -> ViTConfig:
    fields = dict(
        image_size=16, patch_size=4, num_channels=3, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
        intermediate_size=48, num_labels=5, id2label={i: f"class_{i}" for i in range(5)},
        label2id={f"class_{i}": i for i in range(5)},
    )  # fmt: skip
    return ViTConfig(**{**fields, **overrides})


def randomise(model: torch.nn.Module) -> torch.nn.Module:
    """Random weights everywhere (LayerNorms and biases included), so that every weight is tested."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.3)
    return model.eval()


def assert_same(a: torch.Tensor, b: torch.Tensor) -> None:
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


# (H, W) at which to compare: the native resolution, then two others through interpolate_pos_encoding
RESOLUTIONS = [((16, 16), False), ((24, 24), True), ((12, 20), True)]


@pytest.mark.parametrize("size, interpolate", RESOLUTIONS)
def test_image_classification_logits_match(size, interpolate):
    theirs = randomise(ViTForImageClassification(vit_config()))
    ours = from_transformers(theirs)
    assert isinstance(ours, LectureViTForImageClassification)
    assert ours.config.id2label == theirs.config.id2label and ours.config.num_labels == 5
    pixels = torch.randn(3, 3, *size)
    with torch.no_grad():
        expected = theirs(pixels, interpolate_pos_encoding=interpolate).logits
        actual = ours(pixels, interpolate_pos_encoding=interpolate).logits
    assert actual.shape == (3, 5)
    assert_same(actual, expected)


@pytest.mark.parametrize("size, interpolate", RESOLUTIONS)
def test_model_with_pooler_matches(size, interpolate):
    theirs = randomise(ViTModel(vit_config(pooler_output_size=24, pooler_act="tanh")))
    ours = from_transformers(theirs)
    assert isinstance(ours, LectureViTModel) and ours.pooler is not None
    pixels = torch.randn(2, 3, *size)
    with torch.no_grad():
        expected = theirs(pixels, interpolate_pos_encoding=interpolate)
        actual = ours(pixels, interpolate_pos_encoding=interpolate)
    assert actual.pooler_output.shape == (2, 24)
    assert_same(actual.last_hidden_state, expected.last_hidden_state)
    assert_same(actual.pooler_output, expected.pooler_output)


def test_model_without_pooler_and_every_layer_output():
    config = vit_config()
    config._attn_implementation = "eager"  # transformers' ViT forms attention weights only on the eager path
    theirs = randomise(ViTModel(config, add_pooling_layer=False))
    ours = from_transformers(theirs)
    assert ours.pooler is None
    pixels = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = theirs(pixels, output_attentions=True, output_hidden_states=True)
        actual = ours(pixels, output_attentions=True, output_hidden_states=True)
    assert actual.pooler_output is None
    assert len(actual.attentions) == len(expected.attentions) == 3
    assert len(actual.hidden_states) == len(expected.hidden_states) == 4
    for a, b in zip(actual.attentions, expected.attentions):
        assert_same(a, b)
    for a, b in zip(actual.hidden_states, expected.hidden_states):
        assert_same(a, b)


def test_checkpoint_without_qkv_biases_converts_with_zero_biases():
    theirs = randomise(ViTForImageClassification(vit_config(qkv_bias=False, hidden_act="gelu_new", layer_norm_eps=1e-6)))
    ours = from_transformers(theirs)
    assert torch.equal(ours.vit.layers[0].self_attn.q_proj.bias, torch.zeros(32))
    assert ours.config.layer_norm_eps == 1e-6 and ours.config.hidden_act == "gelu_new"
    pixels = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert_same(ours(pixels).logits, theirs(pixels).logits)


@pytest.mark.parametrize("cls", [ViTForImageClassification, ViTModel])
def test_round_trip_back_to_transformers(cls):
    original = randomise(cls(vit_config()))
    back = to_transformers(from_transformers(original))
    assert type(back) is cls
    pixels = torch.randn(2, 3, 16, 16)
    key = "logits" if cls is ViTForImageClassification else "last_hidden_state"
    with torch.no_grad():
        torch.testing.assert_close(back(pixels)[key], original(pixels)[key], atol=0, rtol=0)
    for name, tensor in original.state_dict().items():
        assert torch.equal(back.state_dict()[name], tensor), name


def test_converted_model_saves_and_reloads(tmp_path):
    theirs = randomise(ViTForImageClassification(vit_config()))
    from_transformers(theirs).save_pretrained(tmp_path)
    reloaded = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    assert isinstance(reloaded, LectureViTForImageClassification)
    pixels = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert_same(reloaded(pixels).logits, theirs(pixels).logits)


def test_configurations_hf_lecture_cannot_express_are_refused():
    with pytest.raises(ValueError, match="image_size must be square"):
        from_transformers(ViTModel(vit_config(image_size=[16, 32])))
    with pytest.raises(ValueError, match="masked image modelling"):
        from_transformers(ViTModel(vit_config(), use_mask_token=True))
    with pytest.raises(ValueError, match="no converter for Linear"):
        from_transformers(torch.nn.Linear(2, 2))
