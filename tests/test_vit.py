"""The Vision Transformer: config, patches, [CLS], positions, heads, saving, pipelines, data, bad input."""

import struct

import numpy as np
import pytest
import torch
from PIL import Image

from hf_lecture import LectureViTConfig, LectureViTForImageClassification, LectureViTModel
from hf_lecture.data.digits import (
    ImageClassificationCollator,
    load_digits_dataset,
    load_image_dataset,
    make_image_processor,
)
from hf_lecture.recipes.vit import SmallCNN, balanced_order, plot_curve

from .remote_code import run_without_hf_lecture

TINY = dict(
    image_size=8, patch_size=2, num_channels=3, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
    intermediate_size=32,
)  # fmt: skip
LABELS = {0: "zero", 1: "one", 2: "two"}


def tiny_config(**overrides) -> LectureViTConfig:
    return LectureViTConfig(**{**TINY, **overrides})


def tiny_classifier(**overrides) -> LectureViTForImageClassification:
    config = tiny_config(id2label=LABELS, label2id={v: k for k, v in LABELS.items()}, **overrides)
    return LectureViTForImageClassification(config).eval()


def images(batch=2, size=8):
    return torch.randn(batch, 3, size, size)


# ------------------------------------------------------------------ config


def test_defaults_are_vit_base_16():
    config = LectureViTConfig()
    assert config.model_type == "lecture_vit"
    assert (config.image_size, config.patch_size, config.num_channels) == (224, 16, 3)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (768, 12, 12)
    assert (config.intermediate_size, config.hidden_act, config.pooler_output_size) == (3072, "gelu", 768)
    assert config.num_patches == 196


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("image_size", 9, r"image_size \(9\) must be divisible by patch_size \(2\)"),
        ("patch_size", 0, "patch_size must be a positive integer"),
        ("image_size", (8, 8), "image_size must be a positive integer"),
        ("num_channels", 0, "num_channels must be a positive integer"),
        ("hidden_size", 15, r"hidden_size \(15\) must be divisible by num_attention_heads \(2\)"),
        ("num_hidden_layers", 1.5, "num_hidden_layers must be a positive integer"),
        ("intermediate_size", -4, "intermediate_size must be a positive integer"),
        ("hidden_dropout_prob", 1.0, r"hidden_dropout_prob must be a probability in \[0, 1\)"),
        ("attention_probs_dropout_prob", -0.1, "attention_probs_dropout_prob must be a probability"),
        ("hidden_act", "swishy", "hidden_act must be one of"),
        ("pooler_act", "nope", "pooler_act must be one of"),
        ("layer_norm_eps", 0.0, "layer_norm_eps must be a positive number"),
        ("initializer_range", -1.0, "initializer_range must be a positive number"),
        ("qkv_bias", False, "qkv_bias must be True"),
    ],
)
def test_invalid_config_values_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**{field: value})


def test_documented_fields_are_the_ones_the_model_reads():
    config = tiny_config(
        image_size=12, patch_size=3, num_channels=1, hidden_size=24, num_hidden_layers=3, num_attention_heads=4,
        intermediate_size=40, hidden_act="relu", hidden_dropout_prob=0.25, attention_probs_dropout_prob=0.3,
        layer_norm_eps=1e-3, pooler_output_size=7, pooler_act="relu",
    )  # fmt: skip
    model = LectureViTModel(config)
    embeddings, layer = model.embeddings, model.layers[0]
    assert len(model.layers) == 3 and embeddings.grid_size == 4
    assert embeddings.patch_embeddings.projection.in_features == 1 * 3 * 3
    assert embeddings.position_embeddings.shape == (1, 16 + 1, 24) and embeddings.cls_token.shape == (1, 1, 24)
    assert layer.self_attn.num_heads == 4 and layer.mlp.fc1.out_features == 40
    assert type(layer.mlp.activation).__name__ == "ReLU"
    assert layer.dropout == 0.25 and embeddings.dropout == 0.25 and layer.self_attn.dropout == 0.3
    assert layer.pre_norm and layer.final_layer_norm.eps == 1e-3 and model.layernorm.eps == 1e-3
    assert model.pooler.dense.out_features == 7 and type(model.pooler.activation).__name__ == "ReLU"
    assert LectureViTModel(config, add_pooling_layer=False).pooler is None
    # initializer_range is the std of the initial weights
    wide = LectureViTModel(tiny_config(hidden_size=64, initializer_range=0.2))
    assert 0.15 < wide.layers[0].mlp.fc1.weight.std().item() < 0.25
    assert 0.1 < wide.embeddings.position_embeddings.std().item() < 0.25


# ------------------------------------------------------------------ patches, [CLS], positions


def test_patch_embedding_is_a_strided_convolution():
    model = LectureViTModel(tiny_config()).eval()
    projection = model.embeddings.patch_embeddings.projection
    pixels = images()
    conv = torch.nn.functional.conv2d(pixels, projection.weight.view(16, 3, 2, 2), projection.bias, stride=2)
    expected = conv.flatten(2).transpose(1, 2)  # (B, N, D) in row-major patch order
    torch.testing.assert_close(model.embeddings.patch_embeddings(pixels), expected)


def test_each_patch_token_sees_only_its_own_pixels():
    patches = LectureViTModel(tiny_config()).embeddings.patch_embeddings
    pixels = torch.zeros(1, 3, 8, 8)
    base = patches(pixels)
    pixels[0, :, 2:4, 4:6] = 1.0  # row 1, column 2 of the 4 x 4 grid -> token 1 * 4 + 2
    changed = (patches(pixels) - base).abs().sum(-1)[0]
    assert changed.nonzero().flatten().tolist() == [6]


def test_cls_token_comes_first_with_position_zero():
    model = LectureViTModel(tiny_config()).eval()
    embeddings = model.embeddings(images(batch=3))
    assert embeddings.shape == (3, 1 + 16, 16)
    expected_cls = model.embeddings.cls_token[0, 0] + model.embeddings.position_embeddings[0, 0]
    for row in embeddings:
        torch.testing.assert_close(row[0], expected_cls)


def test_interpolated_positions():
    model = LectureViTForImageClassification(tiny_config(num_labels=3)).eval()
    pixels = images()
    with torch.no_grad():
        native = model(pixels).logits
        torch.testing.assert_close(model(pixels, interpolate_pos_encoding=True).logits, native)
        out = model.vit(torch.randn(2, 3, 12, 16), interpolate_pos_encoding=True)
    assert out.last_hidden_state.shape == (2, 1 + 6 * 8, 16)
    table = model.vit.embeddings.interpolate_pos_encoding(16, 16)  # 8 x 8 grid, from the learned 4 x 4
    assert table.shape == (1, 1 + 64, 16)
    torch.testing.assert_close(table[:, 0], model.vit.embeddings.position_embeddings[:, 0])  # [CLS] untouched
    # bicubic resizing of a constant grid is that constant
    with torch.no_grad():
        model.vit.embeddings.position_embeddings[:, 1:] = 0.5
    torch.testing.assert_close(model.vit.embeddings.interpolate_pos_encoding(12, 20)[:, 1:], torch.full((1, 60, 16), 0.5))


# ------------------------------------------------------------------ encoder and heads


def test_eager_and_sdpa_agree():
    eager = LectureViTForImageClassification(tiny_config(num_labels=4, attn_implementation="eager")).eval()
    sdpa = LectureViTForImageClassification(tiny_config(num_labels=4, attn_implementation="sdpa")).eval()
    sdpa.load_state_dict(eager.state_dict())
    assert sdpa.config._attn_implementation == "sdpa"
    pixels = images(batch=3)
    with torch.no_grad():
        torch.testing.assert_close(eager(pixels).logits, sdpa(pixels).logits, atol=1e-5, rtol=1e-5)


def test_attentions_and_hidden_states_of_every_layer():
    model = LectureViTModel(tiny_config(num_hidden_layers=3, attn_implementation="sdpa")).eval()
    pixels = images()
    out = model(pixels, output_attentions=True, output_hidden_states=True)
    assert len(out.attentions) == 3 and len(out.hidden_states) == 4
    for weights in out.attentions:
        assert weights.shape == (2, 2, 17, 17)
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2, 17))
    assert not torch.allclose(out.attentions[0], out.attentions[1])
    # as in transformers: the embeddings, then each layer's output before the final LayerNorm
    torch.testing.assert_close(out.hidden_states[0], model.embeddings(pixels))
    torch.testing.assert_close(model.layernorm(out.hidden_states[-1]), out.last_hidden_state)
    assert model(images()).attentions is None
    as_tuple = model(images(), return_dict=False)
    assert isinstance(as_tuple, tuple) and as_tuple[0].shape == (2, 17, 16) and as_tuple[1].shape == (2, 16)


def test_pooler_is_tanh_of_the_cls_vector():
    model = LectureViTModel(tiny_config()).eval()
    out = model(images())
    expected = torch.tanh(model.pooler.dense(out.last_hidden_state[:, 0]))
    torch.testing.assert_close(out.pooler_output, expected)


def test_classifier_reads_the_final_cls_vector():
    model = tiny_classifier()
    pixels = images()
    hidden = model.vit(pixels).last_hidden_state
    torch.testing.assert_close(model(pixels).logits, model.classifier(hidden[:, 0]))
    assert model.vit.pooler is None


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_classifier_last_layer_computes_cls_only_with_the_same_numbers(attn_implementation):
    """The classifier reads [CLS] only, so the last layer runs its query, output projection, feed-forward
    network and the final LayerNorm on one token per image; logits and every gradient stay the same."""
    model = tiny_classifier(num_hidden_layers=3, attn_implementation=attn_implementation)
    model.train()  # dropout is 0 in TINY: training mode changes nothing but the grad path
    pixels, labels = images(batch=3), torch.tensor([0, 1, 2])

    rows_seen = {}

    def record(name):
        def hook(module, args, output):
            rows_seen[name] = args[0].shape[:-1]

        return hook

    last = model.vit.layers[-1]
    hooks = [
        last.mlp.fc1.register_forward_hook(record("fc1")),
        last.self_attn.q_proj.register_forward_hook(record("q_proj")),
        last.self_attn.k_proj.register_forward_hook(record("k_proj")),
        model.vit.layernorm.register_forward_hook(record("layernorm")),
    ]
    out = model(pixels, labels=labels)
    for hook in hooks:
        hook.remove()
    assert rows_seen == {"fc1": (3, 1), "q_proj": (3, 1), "k_proj": (3, 17), "layernorm": (3, 1)}
    out.loss.backward()
    fast = {name: p.grad.clone() for name, p in model.named_parameters()}

    # The full path (every token through every layer) is what output_hidden_states takes.
    model.zero_grad()
    full = model(pixels, labels=labels, output_hidden_states=True)
    assert full.hidden_states[-1].shape == (3, 17, 16)
    torch.testing.assert_close(out.logits, full.logits, atol=1e-6, rtol=1e-6)
    full.loss.backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(fast[name], p.grad, atol=1e-6, rtol=1e-5, msg=name)
    vit_full = model.vit(pixels).last_hidden_state  # the trunk on its own still returns every token
    assert vit_full.shape == (3, 17, 16)
    torch.testing.assert_close(model.classifier(vit_full[:, 0]), out.logits, atol=1e-6, rtol=1e-6)


def test_losses_follow_problem_type():
    pixels = images(batch=4)
    model = tiny_classifier()
    labels = torch.tensor([0, 2, 1, 2])
    out = model(pixels, labels=labels)
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(out.logits, labels))
    assert model.config.problem_type == "single_label_classification"

    multi = tiny_classifier(problem_type="multi_label_classification")
    targets = torch.tensor([[1.0, 0.0, 1.0]] * 4)
    out = multi(pixels, labels=targets)
    torch.testing.assert_close(out.loss, torch.nn.functional.binary_cross_entropy_with_logits(out.logits, targets))

    regression = LectureViTForImageClassification(tiny_config(num_labels=1)).eval()
    values = torch.tensor([0.5, -1.0, 2.0, 0.0])
    out = regression(pixels, labels=values)
    torch.testing.assert_close(out.loss, torch.nn.functional.mse_loss(out.logits.squeeze(), values))


def test_gradient_checkpointing_gives_the_same_gradients():
    pixels, labels = images(batch=3), torch.tensor([0, 1, 2])
    model = tiny_classifier()
    model.train()
    model(pixels, labels=labels).loss.backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    model.activation_checkpointing_enable()
    assert model.vit.layers[0].gradient_checkpointing
    model(pixels, labels=labels).loss.backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[name], msg=name)


def test_dtype_follows_the_model_and_float32_pixels_are_accepted():
    model = tiny_classifier().to(torch.bfloat16)
    logits = model(images()).logits  # the image processor's float32 pixels
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits.float()).all()
    double = tiny_classifier().to(torch.float64)
    assert double(images()).logits.dtype == torch.float64


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "make_inputs, message",
    [
        (lambda: dict(pixel_values=torch.randn(2, 1, 8, 8)), r"num_channels=3 channels .* got 1"),
        (lambda: dict(pixel_values=torch.randn(2, 3, 16, 16)), r"must be 8x8 \(image_size=8\), got 16x16.*interpolate_pos_encoding=True"),
        (lambda: dict(pixel_values=torch.randint(0, 255, (2, 3, 8, 8), dtype=torch.uint8)), "must be a floating-point tensor.*torch.uint8"),
        (lambda: dict(pixel_values=torch.randn(3, 8, 8)), r"must have shape \(batch, num_channels=3, height, width\)"),
        (lambda: dict(pixel_values=None), "pixel_values must be a tensor"),
        (lambda: dict(pixel_values=torch.randn(0, 3, 8, 8)), "pixel_values is empty"),
        (lambda: dict(pixel_values=torch.randn(1, 3, 9, 8), interpolate_pos_encoding=True), "multiples of patch_size=2, got 9x8"),
        (lambda: dict(pixel_values=torch.randn(2, 3, 8, 8), labels=torch.tensor([0, 3])), r"labels must be class ids in \[0, num_labels=3\)"),
        (lambda: dict(pixel_values=torch.randn(2, 3, 8, 8), labels=torch.tensor([0])), "labels must have one entry per image"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_value_error(make_inputs, message):
    with pytest.raises(ValueError, match=message):
        tiny_classifier()(**make_inputs())


# ------------------------------------------------------------------ saving, loading, pipelines


def test_save_and_reload_with_auto_classes(tmp_path):
    from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoModelForImageClassification

    model = tiny_classifier()
    model.save_pretrained(tmp_path)
    make_image_processor(8).save_pretrained(tmp_path)
    for name in ("model.safetensors", "layers.py", "modeling_vit.py", "configuration_vit.py", "preprocessor_config.json"):
        assert (tmp_path / name).exists(), name
    config = AutoConfig.from_pretrained(tmp_path)
    assert config.model_type == "lecture_vit" and config.id2label == LABELS
    reloaded = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    pixels = images()
    torch.testing.assert_close(model(pixels).logits, reloaded(pixels).logits)
    assert isinstance(AutoModel.from_pretrained(tmp_path), LectureViTModel)
    processor = AutoImageProcessor.from_pretrained(tmp_path)
    assert processor.size == {"height": 8, "width": 8}


def test_saved_folder_loads_with_trust_remote_code_without_the_package(tmp_path):
    model = tiny_classifier()
    model.save_pretrained(tmp_path / "model")
    pixels = images()
    expected = model(pixels, output_attentions=True)
    torch.save({"pixels": pixels, "expected": expected.logits, "attn": expected.attentions[-1]}, tmp_path / "io.pt")
    stdout = run_without_hf_lecture(
        f"""
        import torch
        from transformers import AutoModelForImageClassification
        folder = {str(tmp_path / "model")!r}
        model = AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=True).eval()
        io = torch.load({str(tmp_path / "io.pt")!r})
        out = model(io["pixels"], output_attentions=True)
        torch.testing.assert_close(out.logits, io["expected"])
        torch.testing.assert_close(out.attentions[-1], io["attn"])
        print("OK", type(model).__module__, len(out.attentions), model.config.id2label[2])
        """,
        tmp_path,
    )
    assert "OK transformers_modules" in stdout and stdout.strip().endswith("2 two")


@torch.no_grad()
def _expected_top(model, processor, image):
    pixels = processor([image.convert("RGB")], return_tensors="pt")["pixel_values"]
    probabilities = model(pixels).logits.softmax(-1)[0]
    return model.config.id2label[int(probabilities.argmax())], float(probabilities.max())


def test_pipeline_from_objects_from_the_folder_and_on_files(tmp_path):
    from transformers import pipeline

    model, processor = tiny_classifier(), make_image_processor(8)
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8))
    label, score = _expected_top(model, processor, image)

    classify = pipeline("image-classification", model=model, image_processor=processor)
    top = classify(image)[0]
    assert top["label"] == label and top["score"] == pytest.approx(score, abs=1e-5)

    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    from_folder = pipeline("image-classification", model=str(tmp_path / "model"))
    image.save(tmp_path / "image.png")
    gray = Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8), mode="L")  # resized, made RGB
    gray.save(tmp_path / "gray.png")
    results = from_folder([str(tmp_path / "image.png"), image, str(tmp_path / "gray.png")], top_k=3)
    assert results[0][0]["label"] == label and results[0][0]["score"] == pytest.approx(score, abs=1e-5)
    assert results[1][0] == results[0][0]
    gray_label, gray_score = _expected_top(model, processor, gray)
    assert results[2][0]["label"] == gray_label and results[2][0]["score"] == pytest.approx(gray_score, abs=1e-5)
    assert sorted(r["label"] for r in results[2]) == sorted(LABELS.values())


# ------------------------------------------------------------------ data


def test_digits_dataset_is_rgb_with_a_fixed_split():
    splits = load_digits_dataset(seed=0)
    assert (len(splits["train"]), len(splits["test"])) == (1437, 360)
    image = splits["train"][0]["image"]
    assert image.mode == "RGB" and image.size == (8, 8)
    red, green, blue = (np.asarray(channel) for channel in image.split())
    assert np.array_equal(red, green) and np.array_equal(green, blue) and red.max() > 200
    assert splits["train"].features["label"].names == [str(d) for d in range(10)]
    assert np.bincount(splits["test"]["label"]).min() >= 35  # stratified: 35 or 36 of each digit
    again = load_digits_dataset(seed=0)
    assert again["test"]["label"] == splits["test"]["label"]
    assert load_digits_dataset(seed=1)["test"]["label"] != splits["test"]["label"]


def test_collator_and_image_processor():
    processor = make_image_processor(8)
    collate = ImageClassificationCollator(processor)
    white = Image.new("RGB", (8, 8), (255, 255, 255))
    black = Image.new("L", (4, 4), 0)  # gray and another size
    batch = collate([{"image": white, "label": 3}, {"image": black, "label": 0}])
    assert batch["pixel_values"].shape == (2, 3, 8, 8) and batch["pixel_values"].dtype == torch.float32
    assert batch["pixel_values"][0].min() == pytest.approx(1.0) and batch["pixel_values"][1].max() == pytest.approx(-1.0)
    assert batch["labels"].tolist() == [3, 0] and batch["labels"].dtype == torch.long


def test_image_folder_and_saved_dataset(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (tmp_path / "folder" / name).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 255, (6, 6, 3), dtype=np.uint8)).save(tmp_path / "folder" / name / f"{i}.png")
    splits = load_image_dataset(str(tmp_path / "folder"), seed=0)
    assert splits["train"].features["label"].names == ["cat", "dog"]
    assert (len(splits["train"]), len(splits["test"])) == (16, 4)
    splits.save_to_disk(str(tmp_path / "saved"))
    again = load_image_dataset(str(tmp_path / "saved"))
    assert again["test"]["label"] == splits["test"]["label"]
    with pytest.raises(ValueError, match="data_dir must be a folder"):
        load_image_dataset(str(tmp_path / "missing"))


def test_balanced_order_keeps_every_prefix_balanced():
    labels = [i % 4 for i in range(40)] + [0] * 8
    order = balanced_order(labels, seed=0)
    assert sorted(order.tolist()) == list(range(48))
    for size in (4, 8, 12):
        assert np.bincount(np.asarray(labels)[order[:size]], minlength=4).tolist() == [size // 4] * 4
    assert balanced_order(labels, seed=0).tolist() == order.tolist()


def test_small_cnn_and_plot(tmp_path):
    cnn = SmallCNN(num_labels=10)
    out = cnn(images(batch=5), labels=torch.arange(5))
    assert out.logits.shape == (5, 10) and out.loss.item() > 0
    path = tmp_path / "curve.png"
    plot_curve({"train_sizes": [10, 100], "cnn_accuracy": [0.5, 0.9], "vit_accuracy": [0.3, 0.8]}, str(path))
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", header[16:24]) == (720, 480)
