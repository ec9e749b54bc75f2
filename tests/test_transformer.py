"""The encoder-decoder Transformer: config, building blocks, masks, generate(), saving, bad input."""

import math

import pytest
import torch

from hf_lecture import (
    LectureTransformerConfig,
    LectureTransformerForCausalLM,
    LectureTransformerForConditionalGeneration,
    LectureTransformerModel,
)
from hf_lecture.models.layers import (
    EncoderLayer,
    FeedForward,
    LayerSpec,
    additive_mask,
    causal_mask,
    padding_mask,
    sinusoidal_table,
)

from .remote_code import run_without_hf_lecture

TINY = dict(
    vocab_size=50, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
    decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
    dropout=0.0,
)  # fmt: skip


def tiny_config(**overrides) -> LectureTransformerConfig:
    return LectureTransformerConfig(**{**TINY, **overrides})


def padded_batch():
    input_ids = torch.randint(3, 50, (2, 7))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 4:] = 0
    input_ids[1, 4:] = 0
    return input_ids, attention_mask


# ------------------------------------------------------------------ config


def test_defaults_are_the_paper_base_model():
    config = LectureTransformerConfig()
    assert (config.d_model, config.encoder_layers, config.decoder_layers) == (512, 6, 6)
    assert (config.encoder_attention_heads, config.encoder_ffn_dim, config.dropout) == (8, 2048, 0.1)
    assert config.scale_embedding and not config.normalize_before and config.position_embedding_type == "sinusoidal"
    # generic names that generate() reads map onto the decoder's fields
    config = tiny_config(decoder_layers=3, decoder_attention_heads=4)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (16, 3, 4)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("d_model", 15, "divisible by encoder_attention_heads"),
        ("decoder_attention_heads", 3, "divisible by decoder_attention_heads"),
        ("encoder_layers", 0, "encoder_layers must be a positive integer"),
        ("vocab_size", -1, "vocab_size must be a positive integer"),
        ("decoder_ffn_dim", 2.5, "decoder_ffn_dim must be a positive integer"),
        ("dropout", 1.0, "dropout must be a probability in [0, 1)"),
        ("attention_dropout", -0.1, "attention_dropout must be a probability"),
        ("label_smoothing", 1.5, "label_smoothing must be a probability"),
        ("activation_function", "swishy", "activation_function must be one of"),
        ("position_embedding_type", "rotary", "position_embedding_type must be one of"),
        ("sinusoidal_layout", "zigzag", "sinusoidal_layout must be one of"),
        ("pad_token_id", 50, "pad_token_id must be a token id in [0, vocab_size=50)"),
    ],
)
def test_invalid_config_values_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        tiny_config(**{field: value})


def test_documented_fields_are_the_ones_the_model_reads():
    model = LectureTransformerForConditionalGeneration(
        tiny_config(encoder_layers=3, decoder_layers=1, encoder_ffn_dim=24, decoder_ffn_dim=40,
                    decoder_attention_heads=4, activation_function="gelu", layer_norm_eps=1e-3,
                    attention_dropout=0.3, activation_dropout=0.2, dropout=0.25, normalize_before=True)
    )  # fmt: skip
    encoder, decoder = model.model.encoder, model.model.decoder
    assert len(encoder.layers) == 3 and len(decoder.layers) == 1
    assert encoder.layers[0].mlp.fc1.out_features == 24 and decoder.layers[0].mlp.fc1.out_features == 40
    assert decoder.layers[0].self_attn.num_heads == 4 and encoder.layers[0].self_attn.num_heads == 2
    assert type(encoder.layers[0].mlp.activation).__name__ == "GELUActivation"
    assert encoder.layers[0].final_layer_norm.eps == 1e-3
    assert encoder.layers[0].self_attn.dropout == 0.3 and encoder.layers[0].mlp.activation_dropout == 0.2
    assert encoder.layers[0].dropout == 0.25 and encoder.embeddings.dropout == 0.25
    assert encoder.layers[0].pre_norm and encoder.layer_norm is not None
    assert encoder.embeddings.embed_scale == math.sqrt(16)
    assert LectureTransformerModel(tiny_config(scale_embedding=False)).encoder.embeddings.embed_scale == 1.0


# ------------------------------------------------------------------ building blocks


def test_sinusoidal_table_is_the_papers_formula():
    table = sinusoidal_table(50, 8)
    for pos in (0, 1, 7, 49):
        for i in range(4):
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(pos / 10000 ** (2 * i / 8)), abs=1e-6)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(pos / 10000 ** (2 * i / 8)), abs=1e-6)
    halves = sinusoidal_table(50, 8, layout="halves")
    assert torch.equal(halves[:, :4], table[:, 0::2]) and torch.equal(halves[:, 4:], table[:, 1::2])
    assert table.dtype == torch.float32


@pytest.mark.parametrize("activation", ["gelu", "relu", "silu"])
def test_feed_forward_overwrites_its_hidden_buffer_only_in_inference(activation):
    """Without autograd the activation runs in place on x W_1 + b_1 (no fresh (B, T, F) buffer); with
    autograd it must not (the backward pass reads the pre-activation values). The numbers are the same."""
    ffn = FeedForward(d_model=8, d_ff=32, activation=activation, activation_dropout=0.0)
    x = torch.randn(2, 5, 8)
    buffers = {}
    ffn.fc1.register_forward_hook(lambda module, args, output: buffers.update(fc1=output.data_ptr()) and None)
    ffn.fc2.register_forward_pre_hook(lambda module, args: buffers.update(fc2=args[0].data_ptr()) and None)
    expected = ffn.fc2(ffn.activation(ffn.fc1(x)))
    with torch.no_grad():
        out = ffn(x)
    assert (buffers["fc1"] == buffers["fc2"]) == (activation != "silu")  # silu: no in-place twin listed
    torch.testing.assert_close(out, expected)
    out = ffn(x)
    assert buffers["fc1"] != buffers["fc2"]
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    assert ffn.fc1.weight.grad is not None


@pytest.mark.parametrize("pre_norm", [False, True])
def test_encoder_layer_cls_only_is_row_zero_of_the_full_layer(pre_norm):
    """cls_only: one query ([CLS]) over every key, under a padding mask, post-LN (BERT) and pre-LN (ViT)."""
    spec = LayerSpec(
        d_model=16, num_heads=2, d_ff=32, activation="gelu", dropout=0.0, attention_dropout=0.0,
        activation_dropout=0.0, pre_norm=pre_norm, layer_norm_eps=1e-5,
    )  # fmt: skip
    layer = EncoderLayer(tiny_config(), spec).eval()
    x = torch.randn(2, 6, 16)
    attention_mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    mask = additive_mask(padding_mask(attention_mask, 6), x)  # (B, 1, 6, 6)
    full, _ = layer(x, mask)
    first, _ = layer(x, mask, cls_only=True)
    assert first.shape == (2, 1, 16)
    torch.testing.assert_close(first, full[:, :1], atol=1e-6, rtol=1e-6)
    unmasked, _ = layer(x, None, cls_only=True)
    assert not torch.allclose(unmasked[1], first[1])  # the mask reached the [CLS] query


def test_masks():
    assert causal_mask(3, 3, "cpu")[0, 0].tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    # with two cached tokens, the one new query sees everything
    assert causal_mask(1, 3, "cpu")[0, 0].tolist() == [[True, True, True]]
    mask = padding_mask(torch.tensor([[1, 1, 0]]), query_length=2)
    assert mask.shape == (1, 1, 2, 3) and mask[0, 0].tolist() == [[True, True, False]] * 2


@pytest.mark.parametrize("overrides", [{}, {"normalize_before": True}, {"position_embedding_type": "learned"}])
def test_eager_and_sdpa_agree(overrides):
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = torch.randint(3, 50, (2, 5))
    eager = LectureTransformerForConditionalGeneration(tiny_config(**overrides, attn_implementation="eager")).eval()
    sdpa = LectureTransformerForConditionalGeneration(tiny_config(**overrides, attn_implementation="sdpa")).eval()
    sdpa.load_state_dict(eager.state_dict())
    assert sdpa.config._attn_implementation == "sdpa"
    with torch.no_grad():
        a = eager(input_ids, attention_mask, decoder_input_ids).logits
        b = sdpa(input_ids, attention_mask, decoder_input_ids).logits
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_padding_does_not_change_the_real_tokens():
    model = LectureTransformerForConditionalGeneration(tiny_config()).eval()
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = torch.randint(3, 50, (2, 5))
    with torch.no_grad():
        batched = model(input_ids, attention_mask, decoder_input_ids).logits[1]
        alone = model(input_ids[1:, :4], None, decoder_input_ids[1:]).logits[0]
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)


def test_decoder_never_sees_the_future():
    model = LectureTransformerForConditionalGeneration(tiny_config()).eval()
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = torch.randint(3, 50, (2, 6))
    changed = decoder_input_ids.clone()
    changed[:, 4:] = 7
    with torch.no_grad():
        a = model(input_ids, attention_mask, decoder_input_ids).logits
        b = model(input_ids, attention_mask, changed).logits
    torch.testing.assert_close(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_attentions_and_hidden_states_of_every_layer():
    model = LectureTransformerForConditionalGeneration(tiny_config()).eval()
    input_ids, attention_mask = padded_batch()
    out = model(input_ids, attention_mask, torch.randint(3, 50, (2, 5)), output_attentions=True, output_hidden_states=True)
    assert len(out.encoder_attentions) == 2 and out.encoder_attentions[0].shape == (2, 2, 7, 7)
    assert len(out.decoder_attentions) == 2 and out.decoder_attentions[0].shape == (2, 2, 5, 5)
    assert len(out.cross_attentions) == 2 and out.cross_attentions[0].shape == (2, 2, 5, 7)
    torch.testing.assert_close(out.cross_attentions[1].sum(-1), torch.ones(2, 2, 5))
    assert out.cross_attentions[0][1, :, :, 4:].abs().max() == 0  # padding gets no attention
    assert torch.triu(out.decoder_attentions[0][0, 0], diagonal=1).abs().max() == 0  # nor does the future
    assert len(out.encoder_hidden_states) == 3 and len(out.decoder_hidden_states) == 3


def test_all_padding_row_stays_finite():
    model = LectureTransformerForConditionalGeneration(tiny_config()).eval()
    input_ids, attention_mask = padded_batch()
    attention_mask[1] = 0
    for implementation in ("eager", "sdpa"):
        model.config._attn_implementation = implementation
        logits = model(input_ids, attention_mask, torch.randint(3, 50, (2, 5))).logits
        assert torch.isfinite(logits).all()


# ------------------------------------------------------------------ loss


def test_loss_is_cross_entropy_with_label_smoothing():
    model = LectureTransformerForConditionalGeneration(tiny_config(label_smoothing=0.1)).eval()
    input_ids, attention_mask = padded_batch()
    labels = torch.randint(3, 50, (2, 5))
    labels[1, 3:] = -100
    out = model(input_ids, attention_mask, labels=labels)
    expected = torch.nn.functional.cross_entropy(out.logits.reshape(-1, 50), labels.reshape(-1), label_smoothing=0.1)
    torch.testing.assert_close(out.loss, expected)
    # decoder inputs are the labels shifted right behind the start token
    shifted = model.prepare_decoder_input_ids_from_labels(labels)
    assert shifted[:, 0].tolist() == [1, 1] and torch.equal(shifted[0, 1:], labels[0, :-1])


def test_gradient_accumulation_equals_one_big_step():
    """Trainer passes num_items_in_batch (label tokens of the whole accumulated batch) and sums the parts."""
    model = LectureTransformerForConditionalGeneration(tiny_config())
    input_ids = torch.randint(3, 50, (4, 6))
    labels = torch.randint(3, 50, (4, 5))
    labels[0, 2:] = -100  # the halves hold different numbers of label tokens
    total = (labels != -100).sum()

    model.zero_grad()
    model(input_ids, labels=labels, num_items_in_batch=total).loss.backward()
    big = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    loss = 0
    for part in (slice(0, 2), slice(2, 4)):
        step = model(input_ids[part], labels=labels[part], num_items_in_batch=total).loss
        step.backward()
        loss = loss + step.detach()
    for a, p in zip(big, model.parameters()):
        torch.testing.assert_close(a, p.grad, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(loss, model(input_ids, labels=labels).loss.detach())


def test_gradient_checkpointing_gives_the_same_gradients():
    model = LectureTransformerForConditionalGeneration(tiny_config())
    input_ids, attention_mask = padded_batch()
    labels = torch.randint(3, 50, (2, 5))
    model.train()
    model(input_ids, attention_mask, labels=labels).loss.backward()
    plain = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.gradient_checkpointing_enable()
    assert model.model.encoder.layers[0].gradient_checkpointing
    model(input_ids, attention_mask, labels=labels).loss.backward()
    for a, p in zip(plain, model.parameters()):
        torch.testing.assert_close(a, p.grad)


# ------------------------------------------------------------------ generation


def test_generate_with_and_without_cache_agree():
    model = LectureTransformerForConditionalGeneration(tiny_config()).eval()
    input_ids, attention_mask = padded_batch()
    settings = [
        dict(num_beams=1),
        dict(num_beams=4, length_penalty=0.6, early_stopping=True),
        dict(num_beams=4, num_return_sequences=3),
    ]
    for kwargs in settings:
        cached = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=8, use_cache=True, **kwargs)
        plain = model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=8, use_cache=False, **kwargs)
        assert torch.equal(cached, plain), kwargs
        assert cached.shape[0] == 2 * kwargs.get("num_return_sequences", 1)
    torch.manual_seed(1)
    sampled = model.generate(input_ids, attention_mask=attention_mask, do_sample=True, top_k=5, max_new_tokens=6)
    assert sampled.shape[0] == 2 and (sampled < 50).all()


def test_cache_feeds_one_token_and_projects_the_source_once():
    model = LectureTransformerForConditionalGeneration(tiny_config()).eval()
    input_ids, attention_mask = padded_batch()
    decoder_lengths, cross_key_calls = [], []
    model.model.decoder.register_forward_pre_hook(lambda m, args: decoder_lengths.append(args[0].shape[1]))
    model.model.decoder.layers[0].encoder_attn.k_proj.register_forward_hook(lambda *a: cross_key_calls.append(1))
    model.generate(input_ids, attention_mask=attention_mask, max_new_tokens=6, min_new_tokens=6, num_beams=2)
    assert decoder_lengths == [1] * 6
    assert len(cross_key_calls) == 1


def test_causal_lm_shifts_labels_and_generates():
    model = LectureTransformerForCausalLM(tiny_config(is_encoder_decoder=False)).eval()
    input_ids = torch.randint(3, 50, (2, 6))
    out = model(input_ids, labels=input_ids)
    expected = torch.nn.functional.cross_entropy(out.logits[:, :-1].reshape(-1, 50), input_ids[:, 1:].reshape(-1))
    torch.testing.assert_close(out.loss, expected)
    assert not hasattr(model.model.layers[0], "encoder_attn")
    assert model.lm_head.weight is model.model.embeddings.embed_tokens.weight
    cached = model.generate(input_ids, max_new_tokens=5, do_sample=False)
    plain = model.generate(input_ids, max_new_tokens=5, do_sample=False, use_cache=False)
    assert torch.equal(cached, plain) and cached.shape == (2, 11)


# ------------------------------------------------------------------ saving and loading


def test_save_and_reload_with_auto_classes(tmp_path):
    from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

    model = LectureTransformerForConditionalGeneration(tiny_config()).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "layers.py").exists()
    assert AutoConfig.from_pretrained(tmp_path).model_type == "lecture_transformer"
    reloaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
    input_ids, attention_mask = padded_batch()
    decoder_input_ids = torch.randint(3, 50, (2, 5))
    torch.testing.assert_close(
        model(input_ids, attention_mask, decoder_input_ids).logits,
        reloaded(input_ids, attention_mask, decoder_input_ids).logits,
    )
    assert reloaded.lm_head.weight is reloaded.model.shared.weight
    assert isinstance(AutoModel.from_pretrained(tmp_path), LectureTransformerModel)


def test_saved_folder_loads_with_trust_remote_code_without_the_package(tmp_path):
    model = LectureTransformerForConditionalGeneration(tiny_config()).eval()
    model.save_pretrained(tmp_path / "model")
    input_ids, attention_mask = padded_batch()
    expected = model(input_ids, attention_mask, torch.ones(2, 3, dtype=torch.long)).logits
    torch.save({"input_ids": input_ids, "attention_mask": attention_mask, "expected": expected}, tmp_path / "io.pt")
    stdout = run_without_hf_lecture(
        f"""
        import torch
        from transformers import AutoModelForSeq2SeqLM
        model = AutoModelForSeq2SeqLM.from_pretrained({str(tmp_path / "model")!r}, trust_remote_code=True).eval()
        io = torch.load({str(tmp_path / "io.pt")!r})
        logits = model(io["input_ids"], io["attention_mask"], torch.ones(2, 3, dtype=torch.long)).logits
        torch.testing.assert_close(logits, io["expected"])
        from transformers import AutoModel
        base = AutoModel.from_pretrained({str(tmp_path / "model")!r}, trust_remote_code=True)
        assert type(base).__name__ == "LectureTransformerModel"
        print("OK", type(model).__module__)
        """,
        tmp_path,
    )
    assert "OK transformers_modules" in stdout


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "make_inputs, message",
    [
        (lambda: dict(input_ids=torch.tensor([[3, 50]])), r"input_ids must be in \[0, vocab_size=50\)"),
        (lambda: dict(input_ids=torch.tensor([[3, -1]])), r"input_ids must be in \[0, vocab_size=50\)"),
        (lambda: dict(input_ids=torch.tensor([[3.0, 4.0]])), "input_ids must hold integer token ids"),
        (lambda: dict(input_ids=torch.ones(1, 65, dtype=torch.long)), "more than max_position_embeddings=64"),
        (lambda: dict(input_ids=torch.ones(1, 4, dtype=torch.long), attention_mask=torch.ones(1, 5)),
         r"attention_mask must have shape \(1, 4\)"),
        (lambda: dict(input_ids=torch.ones(1, 4, dtype=torch.long), decoder_input_ids=torch.tensor([[1, 99]])),
         r"decoder_input_ids must be in \[0, vocab_size=50\)"),
        (lambda: dict(input_ids=torch.ones(1, 4, dtype=torch.long), labels=torch.tensor([[1, 77]])),
         r"labels must be in \[0, vocab_size=50\)"),
        (lambda: dict(input_ids=torch.ones(0, 4, dtype=torch.long)), "input_ids is empty"),
    ],
)
def test_bad_input_is_a_clear_value_error(make_inputs, message):
    model = LectureTransformerForConditionalGeneration(tiny_config()).eval()
    inputs = make_inputs()
    inputs.setdefault("decoder_input_ids", torch.ones(inputs["input_ids"].shape[0] or 1, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=message):
        model(**inputs)
