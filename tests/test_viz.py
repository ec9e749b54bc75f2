"""The PNG plots: positional encodings, attention maps of every model family, loss curves, the viz command."""

import argparse
import json
import math
import warnings

import pytest
import torch
from PIL import Image
from transformers import BertConfig, BertModel, MarianConfig, MarianMTModel, ViTConfig, ViTModel

from hf_lecture import (
    LectureBertConfig,
    LectureBertModel,
    LectureTransformerConfig,
    LectureTransformerForConditionalGeneration,
    LectureViTConfig,
    LectureViTForImageClassification,
)
from hf_lecture.data.translation import train_word_char_tokenizer
from hf_lecture.viz import (
    add_viz_arguments,
    attention_maps,
    plot_attention,
    plot_loss_curves,
    plot_positional_encoding,
    run_viz,
)
from hf_lecture.viz.curves import loss_series

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def open_png(path):
    """Assert ``path`` is a real PNG of a readable size and return its (width, height)."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG"
        width, height = image.size
    assert 300 <= width <= 5000 and 200 <= height <= 5000, (path, width, height)
    return width, height


def names(paths):
    return sorted(p.name for p in paths)


def synthetic_log_history(steps=40, eval_every=10):
    history = []
    for step in range(1, steps + 1):
        history.append({"loss": 4 * math.exp(-step / 10) + 0.5, "mlm_loss": 3.0 / step, "nsp_loss": 0.7,
                        "learning_rate": 1e-3, "grad_norm": 1.0, "epoch": step / 10, "step": step})  # fmt: skip
        if step % eval_every == 0:
            history.append({"eval_loss": 2.0 / step + 1, "eval_accuracy": 0.5, "epoch": step / 10, "step": step})
    history.append({"train_loss": 1.3, "train_runtime": 1.0, "epoch": steps / 10, "step": steps})
    return history


# ---------------------------------------------------------------------------- positions


def test_positional_encoding_png(tmp_path):
    path = plot_positional_encoding(tmp_path / "pe.png", num_positions=50, d_model=32)
    assert path == tmp_path / "pe.png"
    width, height = open_png(path)
    assert width > height  # the matrix and the curves side by side


def test_positional_encoding_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="layout must be 'interleaved' or 'halves'"):
        plot_positional_encoding(tmp_path / "pe.png", layout="diagonal")
    with pytest.raises(ValueError, match="d_model must be an integer >= 2"):
        plot_positional_encoding(tmp_path / "pe.png", d_model=1)
    with pytest.raises(ValueError, match="path must end in .png"):
        plot_positional_encoding(tmp_path / "pe.jpg")


# ---------------------------------------------------------------------------- loss curves


def test_loss_series_skips_the_summary_and_keeps_every_loss():
    series = loss_series(synthetic_log_history())
    assert list(series) == ["loss", "mlm_loss", "nsp_loss", "eval_loss"]  # not train_loss, not eval_accuracy
    assert series["loss"][0] == list(range(1, 41))
    assert series["eval_loss"] == ([10, 20, 30, 40], [1.2, 1.1, 2.0 / 30 + 1, 1.05])


def test_loss_curves_from_log_history_and_from_files(tmp_path):
    history = synthetic_log_history()
    open_png(plot_loss_curves(history, tmp_path / "from_list.png"))

    # An output folder whose state lives in its checkpoints: the latest one (by number, not by name) is read.
    for step in (5, 40):
        checkpoint = tmp_path / "run" / f"checkpoint-{step}"
        checkpoint.mkdir(parents=True)
        (checkpoint / "trainer_state.json").write_text(json.dumps({"log_history": history[: step + 1]}))
    open_png(plot_loss_curves(tmp_path / "run", tmp_path / "from_dir.png"))
    open_png(plot_loss_curves(tmp_path / "run" / "checkpoint-5" / "trainer_state.json", tmp_path / "from_file.png"))


def test_loss_curves_from_a_real_trainer(tmp_path):
    from transformers import Trainer, TrainingArguments

    class Regression(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 1)

        def forward(self, x, labels):
            return {"loss": torch.nn.functional.mse_loss(self.linear(x).squeeze(-1), labels)}

    data = [{"x": torch.randn(2), "labels": torch.tensor(1.0)} for _ in range(16)]
    arguments = TrainingArguments(
        output_dir=str(tmp_path / "out"), max_steps=6, logging_steps=1, eval_strategy="steps", eval_steps=3,
        per_device_train_batch_size=4, save_strategy="steps", save_steps=6, report_to=[], use_cpu=True,
    )  # fmt: skip
    trainer = Trainer(model=Regression(), args=arguments, train_dataset=data, eval_dataset=data[:4])
    trainer.train()
    series = loss_series(trainer.state.log_history)
    assert len(series["loss"][0]) == 6 and series["eval_loss"][0] == [3, 6]
    open_png(plot_loss_curves(trainer, tmp_path / "trainer.png"))
    open_png(plot_loss_curves(tmp_path / "out", tmp_path / "out_dir.png"))  # via checkpoint-6/trainer_state.json


def test_loss_curves_errors_name_the_file(tmp_path):
    no_losses = tmp_path / "trainer_state.json"
    no_losses.write_text(json.dumps({"log_history": [{"eval_accuracy": 0.9, "step": 1}]}))
    with pytest.raises(ValueError, match=r"trainer_state\.json has no loss entries"):
        plot_loss_curves(no_losses, tmp_path / "c.png")
    not_state = tmp_path / "config.json"
    not_state.write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match=r"config\.json has no 'log_history' list"):
        plot_loss_curves(not_state, tmp_path / "c.png")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken\.json is not valid JSON"):
        plot_loss_curves(broken, tmp_path / "c.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no trainer_state.json in .*empty"):
        plot_loss_curves(tmp_path / "empty", tmp_path / "c.png")
    with pytest.raises(ValueError, match="neither a file nor a folder"):
        plot_loss_curves(tmp_path / "missing.json", tmp_path / "c.png")


# ---------------------------------------------------------------------------- plot_attention


def test_plot_attention_one_file_per_layer_or_one_layer_into_path(tmp_path):
    attentions = tuple(torch.softmax(torch.randn(2, 3, 4, 5), dim=-1) for _ in range(2))  # (B, H, T, S)
    queries, keys = ["a", "b", "c", "d"], ["v", "w", "$x$", "y", "z"]  # "$" must not start a formula
    files = plot_attention(attentions, queries, keys, tmp_path / "att.png", title="test")
    assert names(files) == ["att_layer0.png", "att_layer1.png"]
    for file in files:
        open_png(file)
    one = plot_attention(attentions, queries, keys, tmp_path / "one.png", layers=1, heads=[0, 2])
    assert one == tmp_path / "one.png"
    open_png(one)


def test_plot_attention_grid_grows_with_heads(tmp_path):
    one_head = plot_attention((torch.rand(1, 1, 6, 6),), list("abcdef"), list("abcdef"), tmp_path / "h1.png", layers=0)
    eight = plot_attention((torch.rand(1, 8, 6, 6),), list("abcdef"), list("abcdef"), tmp_path / "h8.png", layers=0)
    (w1, h1), (w8, h8) = open_png(one_head), open_png(eight)
    assert w8 > 2 * w1 and h8 > 1.5 * h1  # 8 heads: 4 per row, two rows


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(attentions=()), "non-empty tuple"),
        (dict(tokens_q=["a"]), "must label the 3 queries and 3 keys"),
        (dict(layers=[2]), r"layers must be indices in \[0, 1\)"),
        (dict(heads=5), r"heads must be indices in \[0, 2\)"),
    ],
)
def test_plot_attention_bad_arguments(tmp_path, kwargs, message):
    call = dict(attentions=(torch.rand(1, 2, 3, 3),), tokens_q=list("abc"), tokens_k=list("abc"))
    call["path"] = tmp_path / "x.png"
    with pytest.raises(ValueError, match=message):
        plot_attention(**{**call, **kwargs})


# ---------------------------------------------------------------------------- attention_maps, every family


def lecture_transformer():
    config = LectureTransformerConfig(
        vocab_size=40, d_model=16, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=4, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=32, dropout=0.0,
    )  # fmt: skip
    return LectureTransformerForConditionalGeneration(config)


def marian():
    config = MarianConfig(
        vocab_size=40, d_model=16, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=4, encoder_ffn_dim=32, decoder_ffn_dim=32, pad_token_id=0, decoder_start_token_id=0,
    )  # fmt: skip
    return MarianMTModel(config)


@pytest.mark.parametrize("make_model", [lecture_transformer, marian])
def test_encoder_decoder_maps_all_three_kinds(tmp_path, make_model):
    model = make_model()
    inputs = {
        "input_ids": torch.tensor([[5, 6, 7, 2, 0]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1, 0]]),  # the padding is left out of the maps
        "decoder_input_ids": torch.tensor([[1, 8, 9]]),
    }
    labels = (["one", "hundred", "three", "</s>"], ["<s>", "백", "삼"])
    files = attention_maps(model, inputs, labels, tmp_path, prefix="mt_")
    assert names(files) == [
        "mt_cross_attention_layer0.png",
        "mt_decoder_self_attention_layer0.png",
        "mt_encoder_self_attention_layer0.png",
        "mt_encoder_self_attention_layer1.png",
    ]
    sizes = {f.name: open_png(f) for f in files}
    # 4 decoder heads are drawn side by side, 2 encoder heads: the decoder figures are wider.
    assert sizes["mt_cross_attention_layer0.png"][0] > sizes["mt_encoder_self_attention_layer0.png"][0]
    with pytest.raises(ValueError, match="decoder_input_ids"):
        attention_maps(model, {"input_ids": inputs["input_ids"]}, labels, tmp_path)


def test_encoder_decoder_labels_from_a_tokenizer(tmp_path):
    tokenizer = train_word_char_tokenizer(["one hundred three", "백삼", "two", "이"])
    model = lecture_transformer()
    source = tokenizer("one hundred three", return_tensors="pt")
    target = tokenizer(text_target="백삼", return_tensors="pt")["input_ids"]
    inputs = {**source, "decoder_input_ids": torch.cat([torch.tensor([[1]]), target[:, :-1]], dim=1)}
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Glyph .* missing")  # the Korean tokens have a font
        files = attention_maps(model, inputs, tokenizer, tmp_path)
    assert len(files) == 4
    # Too few labels for the source is an error that says so, not a silently shifted axis.
    with pytest.raises(ValueError, match="must label"):
        attention_maps(model, inputs, (["one"], ["<s>", "백", "삼"]), tmp_path)


@pytest.mark.parametrize("model_type", ["lecture_bert", "bert"])
def test_bert_maps_one_file_per_layer(tmp_path, model_type):
    sizes = dict(vocab_size=40, hidden_size=16, num_hidden_layers=3, num_attention_heads=4, intermediate_size=32)
    # transformers' BertModel defaults to SDPA, which returns no weights: attention_maps switches to eager and back.
    ours = model_type == "lecture_bert"
    model = LectureBertModel(LectureBertConfig(**sizes)) if ours else BertModel(BertConfig(**sizes))
    implementation = model.config._attn_implementation
    model.train()
    tokens = ["[CLS]", "the", "cat", "[SEP]", "sat", "[SEP]"]
    inputs = {"input_ids": torch.tensor([[2, 10, 11, 3, 12, 3]]), "token_type_ids": torch.tensor([[0, 0, 0, 0, 1, 1]])}
    files = attention_maps(model, inputs, tokens, tmp_path)
    assert names(files) == [f"self_attention_layer{i}.png" for i in range(3)]
    for file in files:
        open_png(file)
    assert model.config._attn_implementation == implementation and model.training  # both given back


@pytest.mark.parametrize("model_type", ["lecture_vit", "vit"])
def test_vit_maps_patches_and_cls_grid(tmp_path, model_type):
    sizes = dict(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=32)  # fmt: skip
    ours = model_type == "lecture_vit"
    model = LectureViTForImageClassification(LectureViTConfig(**sizes)) if ours else ViTModel(ViTConfig(**sizes))
    pixel_values = torch.linspace(-1, 1, 32)[None, None, :, None].expand(1, 3, 32, 32)
    files = attention_maps(model, {"pixel_values": pixel_values}, None, tmp_path, prefix="vit_")
    assert names(files) == ["vit_cls_to_patches.png", "vit_self_attention_layer0.png", "vit_self_attention_layer1.png"]
    width, height = open_png(tmp_path / "vit_cls_to_patches.png")
    assert width > height  # image + 2 heads across, 2 layers down


def test_decoder_only_lm_maps_its_masked_self_attention(tmp_path):
    from hf_lecture import LectureTransformerForCausalLM

    config = LectureTransformerConfig(vocab_size=40, d_model=16, decoder_layers=2, decoder_attention_heads=2,
                                      decoder_ffn_dim=32, is_encoder_decoder=False)  # fmt: skip
    model = LectureTransformerForCausalLM(config)
    files = attention_maps(model, {"input_ids": torch.tensor([[1, 5, 6, 7]])}, ["<s>", "a", "b", "c"], tmp_path)
    assert names(files) == ["self_attention_layer0.png", "self_attention_layer1.png"]


# ---------------------------------------------------------------------------- the viz command


def parse(argv):
    parser = argparse.ArgumentParser(prog="hf-lecture")
    add_viz_arguments(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_viz_command_positions_and_curves(tmp_path):
    files = run_viz(parse(["viz", "positions", "--output-dir", str(tmp_path), "--d-model", "16", "--layout", "halves"]))
    assert files == [tmp_path / "positional_encoding.png"]
    open_png(files[0])
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": synthetic_log_history()}))
    args = parse(["viz", "curves", str(tmp_path), "--output-dir", str(tmp_path / "plots")])
    assert args.func is run_viz
    assert run_viz(args) == [tmp_path / "plots" / "loss_curves.png"]
    with pytest.raises(SystemExit):
        parse(["viz", "attention", "m", "--target", "a", "--image", "b", "--output-dir", "d"])  # exclusive


def test_viz_command_attention_on_a_saved_translation_model(tmp_path):
    tokenizer = train_word_char_tokenizer(["one hundred three", "백삼", "two", "이"])
    model = lecture_transformer()
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    with_target = run_viz(parse(["viz", "attention", str(tmp_path / "model"), "--text", "one hundred three",
                                 "--target", "백삼", "--output-dir", str(tmp_path / "a")]))  # fmt: skip
    greedy = run_viz(parse(["viz", "attention", str(tmp_path / "model"), "--text", "two",
                            "--output-dir", str(tmp_path / "b")]))  # fmt: skip
    assert len(with_target) == len(greedy) == 4
    with pytest.raises(ValueError, match="--text is required"):
        run_viz(parse(["viz", "attention", str(tmp_path / "model"), "--output-dir", str(tmp_path / "c")]))
    with pytest.raises(ValueError, match="has no config.json"):
        run_viz(parse(["viz", "attention", str(tmp_path), "--text", "x", "--output-dir", str(tmp_path / "c")]))


def test_viz_command_attention_on_a_saved_vit(tmp_path):
    from hf_lecture.data.digits import make_image_processor

    sizes = dict(image_size=16, patch_size=4, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                 intermediate_size=32, num_labels=3)  # fmt: skip
    LectureViTForImageClassification(LectureViTConfig(**sizes)).save_pretrained(tmp_path / "vit")
    make_image_processor(16).save_pretrained(tmp_path / "vit")
    Image.new("RGB", (40, 30), (200, 30, 30)).save(tmp_path / "red.png")
    files = run_viz(parse(["viz", "attention", str(tmp_path / "vit"), "--image", str(tmp_path / "red.png"),
                           "--output-dir", str(tmp_path / "out")]))  # fmt: skip
    assert names(files) == ["cls_to_patches.png", "self_attention_layer0.png"]
