"""Hub format: the model card's metadata and text, saving for the hub, and push -> download round trips
against the local hub double in tests/hub_server.py."""

import json
import math
import os
import re
import subprocess
import sys
import textwrap

import pytest
import torch
from huggingface_hub import ModelCard
from transformers import BertConfig, BertModel

import hf_lecture
from hf_lecture import LectureTransformerConfig, LectureTransformerForConditionalGeneration
from hf_lecture.hub import MODEL_ID_PLACEHOLDER, push_folder, save_for_hub, write_model_card

from .hub_server import HubServer
from .remote_code import PRELUDE, REPO

TINY = dict(
    vocab_size=50, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
    decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
)  # fmt: skip
BERT = dict(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
VIT = dict(image_size=8, patch_size=4, num_channels=3, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
           intermediate_size=32, num_labels=2)  # fmt: skip
METRICS = {"bleu": 97.125, "exact_match": 0.875}


def tiny_model() -> LectureTransformerForConditionalGeneration:
    return LectureTransformerForConditionalGeneration(LectureTransformerConfig(**TINY))


def saved_folder(tmp_path, **card_kwargs):
    card_kwargs = {"datasets": ["numbers"], "metrics": METRICS, "trained_on": "Number-to-words pairs.", **card_kwargs}
    model = tiny_model()
    return model, save_for_hub(model, tmp_path / "saved", **card_kwargs)


# ------------------------------------------------------------------ model card


def test_card_parses_with_the_hub_metadata_and_measured_results(tmp_path):
    _, folder = saved_folder(tmp_path, eval_split="test", trained_on="10,000 pairs made with num2words.")
    card = ModelCard.load(folder / "README.md")
    data = card.data

    assert data.library_name == "transformers"
    assert data.pipeline_tag == "text2text-generation"
    assert {"hf_lecture", "lecture_transformer"} <= set(data.tags)
    assert data.datasets == ["numbers"]
    assert data.license == "apache-2.0"
    assert data.metrics == ["bleu", "exact_match"]
    results = {r.metric_type: r for r in data.eval_results}  # parsed back from model-index
    assert {name: r.metric_value for name, r in results.items()} == METRICS
    assert {(r.task_type, r.dataset_type, r.dataset_split) for r in results.values()} == {
        ("text2text-generation", "numbers", "test")
    }
    assert card.content.startswith("---\n") and "model-index:" in card.content

    text = card.text
    assert "10,000 pairs made with num2words." in text
    assert "| bleu | 97.125 |" in text and "| exact_match | 0.875 |" in text
    assert f"| parameters | {tiny_model().num_parameters():,} |" in text
    assert "import hf_lecture" in text
    assert f'AutoModelForSeq2SeqLM.from_pretrained("{MODEL_ID_PLACEHOLDER}")' in text
    assert f'AutoModelForSeq2SeqLM.from_pretrained("{MODEL_ID_PLACEHOLDER}", trust_remote_code=True)' in text
    assert 'pipeline("seq2seq-generation"' in text
    assert "## Intended use" in text and "## Limitations" in text
    assert "$" not in text  # every template field was filled


def test_card_uses_the_repo_id_and_the_callers_text(tmp_path):
    card = write_model_card(
        tmp_path, model=tiny_model(), datasets="numbers", metrics={}, trained_on="x",
        repo_id="lecture/numbers", task="translation", license="mit", intended_use="Only for class.",
        limitations="Numbers below 1000 only.", language="en",
    )  # fmt: skip
    loaded = ModelCard.load(tmp_path / "README.md")
    assert loaded.data.to_dict() == card.data.to_dict()
    assert (loaded.data.pipeline_tag, loaded.data.license, loaded.data.language) == ("translation", "mit", "en")
    assert loaded.data.eval_results is None  # no metrics -> no model-index
    assert 'from_pretrained("lecture/numbers", trust_remote_code=True)' in loaded.text
    assert "Only for class." in loaded.text and "Numbers below 1000 only." in loaded.text
    assert "No evaluation results were recorded" in loaded.text


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"metrics": {"bleu": math.nan}}, "metrics['bleu'] must be a finite number"),
        ({"metrics": {"bleu": "high"}}, "metrics['bleu'] must be a finite number"),
        ({"trained_on": "  "}, "trained_on must say"),
        ({"datasets": [""]}, "datasets must be non-empty"),
        ({"datasets": []}, "metrics need the dataset"),
    ],
)
def test_card_rejects_bad_input(tmp_path, kwargs, message):
    arguments = {"datasets": ["numbers"], "metrics": METRICS, "trained_on": "pairs", **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        write_model_card(tmp_path, model=tiny_model(), **arguments)
    assert not (tmp_path / "README.md").exists()


@pytest.mark.parametrize(
    "make, pipeline_tag, auto_class, size_row",
    [
        (lambda: hf_lecture.LectureBertForMaskedLM(hf_lecture.LectureBertConfig(**BERT)), "fill-mask",
         "AutoModelForMaskedLM", "| `num_hidden_layers` | 1 |"),
        (lambda: hf_lecture.LectureBertForSequenceClassification(hf_lecture.LectureBertConfig(**BERT, num_labels=3)),
         "text-classification", "AutoModelForSequenceClassification", "| `hidden_size` | 16 |"),
        (lambda: hf_lecture.LectureViTForImageClassification(hf_lecture.LectureViTConfig(**VIT)),
         "image-classification", "AutoModelForImageClassification", "| `patch_size` | 4 |"),
    ],
)  # fmt: skip
def test_each_family_gets_its_tag_loader_and_size(tmp_path, make, pipeline_tag, auto_class, size_row):
    model = make()
    model.save_pretrained(tmp_path)  # as save_for_hub does: the config then carries its auto_map
    write_model_card(tmp_path, model=model, datasets=["d"], metrics={"accuracy": 0.5}, trained_on="t")
    card = ModelCard.load(tmp_path / "README.md")
    assert card.data.pipeline_tag == pipeline_tag == card.data.eval_results[0].task_type
    assert card.data.tags[:2] == ["hf_lecture", model.config.model_type]
    assert f'{auto_class}.from_pretrained("{MODEL_ID_PLACEHOLDER}", trust_remote_code=True)' in card.text
    assert f'pipeline("{pipeline_tag}", model="{MODEL_ID_PLACEHOLDER}")' in card.text
    assert size_row in card.text and "$" not in card.text


def test_card_is_for_hf_lecture_models(tmp_path):
    bert = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2))
    with pytest.raises(ValueError, match="model: cards are written for hf_lecture models"):
        write_model_card(tmp_path, model=bert, datasets=["x"], metrics={}, trained_on="x")


def test_save_for_hub_writes_a_loadable_folder(tmp_path):
    model, folder = saved_folder(tmp_path)
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "README.md", "layers.py",
            "configuration_transformer.py", "modeling_transformer.py"} <= names  # fmt: skip
    loaded = LectureTransformerForConditionalGeneration.from_pretrained(folder)
    reference = model.state_dict()
    assert all(torch.equal(value, reference[key]) for key, value in loaded.state_dict().items())


# ------------------------------------------------------------------ push_folder's checks


def test_push_folder_names_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match=f"folder '{tmp_path / 'nowhere'}' does not exist"):
        push_folder(tmp_path / "nowhere", "user/x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"'.*empty' is not a saved model: it has no config.json"):
        push_folder(tmp_path / "empty", "user/x")
    (tmp_path / "empty" / "config.json").write_text("{}")
    with pytest.raises(ValueError, match=r"it has no weights \(model.safetensors or"):
        push_folder(tmp_path / "empty", "user/x")
    _, folder = saved_folder(tmp_path)
    with pytest.raises(ValueError, match="repo_id must be 'name' or 'user/name'"):
        push_folder(folder, "user/with space")


# ------------------------------------------------------------------ round trips through the hub double

PUSH_AND_LOAD = """
import json, sys, torch, hf_lecture
from transformers import AutoModel, AutoModelForSeq2SeqLM, BertConfig, BertModel
from hf_lecture.hub import push_folder

def same_weights(a, b):
    a, b = a.state_dict(), b.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

args = json.loads(sys.argv[1])
torch.manual_seed(1)
ours = hf_lecture.LectureTransformerForConditionalGeneration(hf_lecture.LectureTransformerConfig(**args["tiny"]))
ours.push_to_hub("user/tiny")
assert same_weights(AutoModelForSeq2SeqLM.from_pretrained("user/tiny"), ours)

bert = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2))
bert.push_to_hub("user/bert")
assert same_weights(AutoModel.from_pretrained("user/bert"), bert)

commit = push_folder(args["folder"], "user/saved", private=True)
loaded = AutoModelForSeq2SeqLM.from_pretrained("user/saved")
reference = torch.load(args["reference"])
assert loaded.state_dict().keys() == reference.keys()
assert all(torch.equal(value, reference[key]) for key, value in loaded.state_dict().items())
print(json.dumps({"commit": commit.oid, "class": type(loaded).__name__}))
"""

LOAD_WITHOUT_HF_LECTURE = """
import json, sys, torch
from transformers import AutoModelForSeq2SeqLM
args = json.loads(sys.argv[1])
loaded = AutoModelForSeq2SeqLM.from_pretrained("user/saved", trust_remote_code=True)
reference = torch.load(args["reference"])
assert all(torch.equal(value, reference[key]) for key, value in loaded.state_dict().items())
print(json.dumps({"class": type(loaded).__name__, "module": type(loaded).__module__}))
"""


def run_against(hub: HubServer, script: str, args: dict, cwd, hide_hf_lecture: bool = False) -> dict:
    """Runs ``script`` in a fresh interpreter whose huggingface_hub talks to ``hub`` (it reads
    HF_ENDPOINT and HF_HUB_OFFLINE once, at import, hence the subprocess); returns its JSON line.
    The two kinds of run get separate caches, so each downloads what it loads."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PYTHONPATH")}
    env.update(HF_ENDPOINT=hub.url, HF_TOKEN="hf_dummy_token", HF_HOME=str(cwd / f"hf_home_{hide_hf_lecture}"),
               NO_PROXY="127.0.0.1", HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")  # fmt: skip
    if not hide_hf_lecture:
        env["PYTHONPATH"] = REPO
    code = (PRELUDE if hide_hf_lecture else "") + textwrap.dedent(script)
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:] + f"\nunknown routes: {hub.unknown}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_push_then_from_pretrained_gives_identical_weights(tmp_path):
    model, folder = saved_folder(tmp_path)
    torch.save(model.state_dict(), tmp_path / "reference.pt")
    args = {"tiny": TINY, "folder": str(folder), "reference": str(tmp_path / "reference.pt")}

    with HubServer() as hub:
        out = run_against(hub, PUSH_AND_LOAD, args, tmp_path)
        assert hub.unknown == []  # the double answered every request the client made
        assert out["class"] == "LectureTransformerForConditionalGeneration"
        assert out["commit"] == hub.commits["user/saved"]
        pushed = hub.files("user/saved")
        assert {"model.safetensors", "config.json", "generation_config.json", "modeling_transformer.py"} <= set(pushed)
        assert pushed["model.safetensors"] == (folder / "model.safetensors").read_bytes()
        card = ModelCard(pushed["README.md"].decode())  # the placeholder id became the repo id
        assert 'from_pretrained("user/saved", trust_remote_code=True)' in card.text
        assert MODEL_ID_PLACEHOLDER not in card.text
        assert card.data.eval_results[0].metric_value == METRICS["bleu"]
        assert "POST /api/models/user/saved/commit/main" in hub.log
        assert any(line.startswith("GET /user/saved/resolve/") for line in hub.log)

        # Without hf_lecture, the repo's own code loads the same weights (trust_remote_code).
        out = run_against(hub, LOAD_WITHOUT_HF_LECTURE, args, tmp_path, hide_hf_lecture=True)
        assert out["class"] == "LectureTransformerForConditionalGeneration"
        assert out["module"].startswith("transformers_modules.")
        downloads = [line for line in hub.log if line.startswith("GET /user/saved/resolve/")]
        assert sum(line.endswith("/model.safetensors") for line in downloads) == 2  # one per fresh cache
        assert any(line.endswith("/layers.py") for line in downloads)  # the relative import came from the hub
        assert hub.unknown == []


def test_hub_double_needs_a_token_to_write(tmp_path):
    import urllib.error
    import urllib.request

    with HubServer() as hub:
        request = urllib.request.Request(f"{hub.url}/api/repos/create", data=b'{"name": "x"}', method="POST")
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=10)
        assert error.value.code == 401
        assert "x" not in hub.commits
