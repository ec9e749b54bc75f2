"""Damaged files and interrupted saves: a clear error that names the file, never a half-written model.

- Loading a folder with a truncated or corrupted model.safetensors, no weights, a missing or malformed
  config.json, a config.json of another family, or weights whose shapes do not match the config: an
  error that names the file, from our classes, from the Auto classes and from the command line.
- save_pretrained writes into a temporary sibling folder and moves the files into place: a save that
  fails midway leaves the previous folder as it was (and loadable); other files there are not touched.
- Weights are written and read only as safetensors (a pickle is never loaded); Trainer's optimizer,
  scheduler and RNG state files are loaded with weights_only=True.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
import transformers
from transformers import AutoModel, AutoModelForSeq2SeqLM, Trainer, TrainingArguments

from hf_lecture import (
    LectureBertForMaskedLM,
    LectureBertModel,
    LectureTransformerForConditionalGeneration,
    LectureTransformerModel,
    LectureViTForImageClassification,
    LectureViTModel,
)
from hf_lecture.data.tokenizer import train_wordpiece_tokenizer

from .test_bert import tiny_config as bert_config
from .test_cli import run_main
from .test_transformer import tiny_config as transformer_config
from .test_vit import tiny_config as vit_config

FAMILIES = {  # family: (its model class, the Auto class that loads it, a changed config that breaks shapes)
    "transformer": (lambda: LectureTransformerForConditionalGeneration(transformer_config()), AutoModelForSeq2SeqLM,
                    {"d_model": 32}),
    "bert": (lambda: LectureBertModel(bert_config()), AutoModel, {"hidden_size": 32, "intermediate_size": 64}),
    "vit": (lambda: LectureViTModel(vit_config()), AutoModel, {"hidden_size": 32}),
}  # fmt: skip


@pytest.fixture(params=sorted(FAMILIES))
def saved(request, tmp_path):
    """(model class, Auto class, folder, shape-breaking config change) for a tiny saved model of each family."""
    build, auto, change = FAMILIES[request.param]
    model = build()
    model.save_pretrained(tmp_path / "model")
    return type(model), auto, tmp_path / "model", change


def edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))


CORRUPTIONS = {
    "truncated": lambda data: data[: len(data) // 2],
    "garbage": lambda data: b"\x00" * 100,
    "empty": lambda data: b"",
    "header": lambda data: data[:8] + b"}" * 8 + data[16:],
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
@pytest.mark.parametrize("via", ["class", "auto"])
def test_corrupted_weights_name_the_file(saved, corruption, via):
    cls, auto, folder, _ = saved
    weights = folder / "model.safetensors"
    weights.write_bytes(CORRUPTIONS[corruption](weights.read_bytes()))
    with pytest.raises(OSError, match=f"{weights}: not a readable safetensors file .* truncated or corrupted"):
        (cls if via == "class" else auto).from_pretrained(folder)


@pytest.mark.parametrize("via", ["class", "auto"])
def test_missing_weights_name_the_folder(saved, via):
    cls, auto, folder, _ = saved
    (folder / "model.safetensors").unlink()
    with pytest.raises(OSError, match=f"no file named model.safetensors .*{folder}"):
        (cls if via == "class" else auto).from_pretrained(folder)


@pytest.mark.parametrize("via", ["class", "auto"])
def test_missing_config_names_the_folder(saved, via):
    cls, auto, folder, _ = saved
    (folder / "config.json").unlink()
    with pytest.raises((OSError, ValueError), match=str(folder)):
        (cls if via == "class" else auto).from_pretrained(folder)


@pytest.mark.parametrize("text", ["{ not json", "", "[1, 2"])
@pytest.mark.parametrize("via", ["class", "auto"])
def test_malformed_config_names_the_file(saved, text, via):
    cls, auto, folder, _ = saved
    (folder / "config.json").write_text(text)
    with pytest.raises(OSError, match=f"{folder / 'config.json'}.* is not a valid JSON file"):
        (cls if via == "class" else auto).from_pretrained(folder)


def test_a_config_field_that_breaks_its_rule_names_the_folder_and_the_field(saved):
    cls, _, folder, _ = saved
    edit_config(folder, num_attention_heads=3, encoder_attention_heads=3)
    with pytest.raises(ValueError, match=f"{folder}: .*divisible by .*(num_attention_heads|encoder_attention_heads)"):
        cls.from_pretrained(folder)


OTHER_FAMILY = {LectureTransformerForConditionalGeneration: "lecture_bert", LectureBertModel: "lecture_vit",
                LectureViTModel: "lecture_transformer"}  # fmt: skip


def test_a_config_of_another_family_names_the_file(saved):
    cls, _, folder, _ = saved
    edit_config(folder, model_type=OTHER_FAMILY[cls])
    with pytest.raises(ValueError, match=f"{folder / 'config.json'}: model_type is '{OTHER_FAMILY[cls]}', but {cls.__name__}"):
        cls.from_pretrained(folder)


def test_the_wrong_auto_class_names_the_config_class_and_the_auto_class(tmp_path):
    LectureBertModel(bert_config()).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="Unrecognized configuration class .*LectureBertConfig.* AutoModelForSeq2SeqLM"):
        AutoModelForSeq2SeqLM.from_pretrained(tmp_path)


@pytest.mark.parametrize("via", ["class", "auto"])
def test_weights_that_do_not_match_the_config_name_both_files(saved, via):
    cls, auto, folder, change = saved
    edit_config(folder, **change)
    with pytest.raises(ValueError, match=rf"{folder / 'model.safetensors'}: \d+ weight shapes do not match {folder / 'config.json'}: \S+: file \(\d+"):
        (cls if via == "class" else auto).from_pretrained(folder)


def test_a_pickled_checkpoint_is_never_loaded(tmp_path):
    """A folder holding only pytorch_model.bin (a pickle, which can run code) is refused, unopened."""
    LectureBertModel(bert_config()).save_pretrained(tmp_path)
    marker = tmp_path / "pickle-ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (tmp_path / "model.safetensors").unlink()
    (tmp_path / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": Payload()}))
    for loader in (LectureBertModel, AutoModel):
        with pytest.raises(OSError, match=f"no file named model.safetensors .*{tmp_path}"):
            loader.from_pretrained(tmp_path)
    assert not marker.exists()


# ------------------------------------------------------------------ the command line


@pytest.fixture
def bert_folder(tmp_path):
    """A BERT folder with its tokenizer, as `hf-lecture viz attention` takes it."""
    tokenizer = train_wordpiece_tokenizer(["the cat sat on the mat", "a dog ran in the park"] * 5, vocab_size=60)
    model = LectureBertModel(bert_config(vocab_size=len(tokenizer)))
    model.save_pretrained(tmp_path / "bert")
    tokenizer.save_pretrained(tmp_path / "bert")
    return tmp_path / "bert"


def viz_attention(folder: Path, capsys) -> tuple[int, str]:
    code, _, err = run_main(["viz", "attention", folder, "--text", "the cat", "--output-dir", folder.parent / "out"], capsys)
    return code, err


def test_command_line_works_on_the_sound_folder(bert_folder, capsys):
    code, _ = viz_attention(bert_folder, capsys)
    assert code == 0 and any((bert_folder.parent / "out").glob("*.png"))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: (f / "model.safetensors").write_bytes(b"\x00" * 10), "{f}/model.safetensors: not a readable safetensors file"),
        (lambda f: (f / "model.safetensors").unlink(), "no file named model.safetensors found in directory {f}"),
        (lambda f: (f / "config.json").write_text("{ not json"), "{f}/config.json"),
        (lambda f: edit_config(f, hidden_size=32), "{f}/model.safetensors: 37 weight shapes do not match {f}/config.json"),
    ],
    ids=["corrupted weights", "no weights", "malformed config", "shape mismatch"],
)  # fmt: skip
def test_command_line_names_the_damaged_file_in_one_line(bert_folder, capsys, damage, message):
    damage(bert_folder)
    code, err = viz_attention(bert_folder, capsys)
    assert code == 2
    # one error line, the last; before it only transformers' own progress bar and load report (its logging)
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and err.splitlines()[-1] == errors[0]
    assert errors[0].startswith("hf-lecture viz: error: ") and message.format(f=bert_folder) in errors[0]


# ------------------------------------------------------------------ atomic save


def fill(model, value: float):
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(value)
    return model


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


FAILURES = ["save_file", "state_dict"]


def break_the_save(monkeypatch, how: str) -> None:
    """Make the next save_pretrained fail midway: after writing half a weights file, or while collecting weights."""
    if how == "save_file":
        real = transformers.modeling_utils.safe_save_file

        def half_then_fail(tensors, filename, metadata=None):
            real(tensors, filename, metadata=metadata)
            Path(filename).write_bytes(Path(filename).read_bytes()[:100])  # half-written
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", half_then_fail)
    else:

        def failing_state_dict(self, *args, **kwargs):
            raise RuntimeError("killed while collecting the weights")

        monkeypatch.setattr(torch.nn.Module, "state_dict", failing_state_dict)


@pytest.mark.parametrize("how", FAILURES)
def test_a_failed_save_leaves_the_previous_model_loadable(tmp_path, monkeypatch, how):
    folder = tmp_path / "model"
    fill(LectureBertForMaskedLM(bert_config()), 0.25).save_pretrained(folder)
    (folder / "tokenizer.json").write_text('{"kept": true}')
    (folder / "README.md").write_text("# my model\n")
    before = snapshot(folder)

    newer = fill(LectureBertForMaskedLM(bert_config(num_hidden_layers=3)), 0.75)
    break_the_save(monkeypatch, how)
    with pytest.raises((OSError, RuntimeError)):
        newer.save_pretrained(folder)
    monkeypatch.undo()

    assert snapshot(folder) == before  # every file as it was: weights, config, code, tokenizer, README
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging folder left behind
    loaded = LectureBertForMaskedLM.from_pretrained(folder)
    assert loaded.config.num_hidden_layers == 2
    assert all(bool((p == 0.25).all()) for p in loaded.parameters())


def test_a_failed_first_save_leaves_no_model_behind(tmp_path, monkeypatch):
    break_the_save(monkeypatch, "save_file")
    with pytest.raises(OSError, match="No space left"):
        LectureViTForImageClassification(vit_config()).save_pretrained(tmp_path / "model")
    assert list((tmp_path / "model").iterdir()) == []  # no config.json: nothing looks like a whole model
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_successful_save_replaces_the_model_and_keeps_other_files(tmp_path):
    folder = tmp_path / "model"
    fill(LectureTransformerModel(transformer_config()), 0.25).save_pretrained(folder, max_shard_size="20KB")
    assert len(list(folder.glob("model-*.safetensors"))) > 1  # sharded, with an index
    (folder / "tokenizer.json").write_text("{}")
    fill(LectureTransformerModel(transformer_config(encoder_layers=1)), 0.5).save_pretrained(folder)
    names = sorted(p.name for p in folder.iterdir())
    assert "tokenizer.json" in names and "model.safetensors" in names
    assert not any(name.startswith("model-") or name.endswith(".index.json") for name in names)  # old shards gone
    loaded = LectureTransformerModel.from_pretrained(folder)
    assert loaded.config.encoder_layers == 1 and all(bool((p == 0.5).all()) for p in loaded.parameters())


# ------------------------------------------------------------------ safetensors only, weights_only


class TinyMLM(torch.utils.data.Dataset):
    def __len__(self):
        return 16

    def __getitem__(self, index):
        generator = torch.Generator().manual_seed(index)
        ids = torch.randint(5, 60, (8,), generator=generator)
        return {"input_ids": ids, "labels": ids.clone()}


def test_trainer_files_are_safetensors_and_its_state_is_loaded_with_weights_only(tmp_path, monkeypatch):
    def trainer(max_steps):
        args = TrainingArguments(tmp_path / "run", max_steps=max_steps, per_device_train_batch_size=4, save_steps=2,
                                 report_to=[], use_cpu=True, seed=0, disable_tqdm=True)  # fmt: skip
        return Trainer(model=LectureBertForMaskedLM(bert_config()), args=args, train_dataset=TinyMLM())

    trainer(2).train()
    checkpoint = tmp_path / "run" / "checkpoint-2"
    # training_args.bin (Trainer's pickled arguments) is written for the record and never loaded back
    weights = [p.name for p in checkpoint.iterdir() if p.suffix in (".safetensors", ".bin", ".pt", ".pth")]
    assert sorted(weights) == ["model.safetensors", "optimizer.pt", "rng_state.pth", "scheduler.pt", "training_args.bin"]
    assert not list(checkpoint.glob("pytorch_model*"))

    loads = []
    real_load = torch.load

    def recording_load(file, *args, **kwargs):
        loads.append((Path(file).name, kwargs.get("weights_only")))
        return real_load(file, *args, **kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    trainer(4).train(resume_from_checkpoint=str(checkpoint))
    assert {name for name, _ in loads} >= {"optimizer.pt", "scheduler.pt", "rng_state.pth"}
    assert "training_args.bin" not in {name for name, _ in loads}
    assert all(weights_only is True for _, weights_only in loads), loads
