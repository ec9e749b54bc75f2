"""Real training: the ViT learns the handwritten digits; the CNN-vs-ViT curve is drawn."""

import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification, pipeline

from hf_lecture.data.digits import load_digits_dataset
from hf_lecture.recipes.vit import cnn_vs_vit, train_vit

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def one_thread():
    """Tiny models on a shared 2-core machine train several times faster on one thread than on two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_vit_learns_the_digits(tmp_path, one_thread):
    start = time.perf_counter()
    metrics = train_vit(str(tmp_path / "vit"), seed=0)
    seconds = time.perf_counter() - start
    print(f"digits ViT: held-out accuracy {metrics['eval_accuracy']:.4f} in {seconds:.1f} s")
    assert metrics["eval_accuracy"] >= 0.95
    assert (metrics["train_examples"], metrics["eval_examples"]) == (1437, 360)
    assert seconds < 180
    saved = json.loads((tmp_path / "vit" / "metrics.json").read_text())
    assert saved["eval_accuracy"] == metrics["eval_accuracy"]

    # The saved folder is a complete image classifier: model + image processor, through the pipeline.
    folder = metrics["model_dir"]
    assert AutoImageProcessor.from_pretrained(folder).size == {"height": 8, "width": 8}
    model = AutoModelForImageClassification.from_pretrained(folder)
    assert model.config.id2label[7] == "7"
    test = load_digits_dataset(seed=0)["test"].select(range(40))
    classify = pipeline("image-classification", model=folder)
    test[0]["image"].save(tmp_path / "digit.png")
    from_file = classify(str(tmp_path / "digit.png"))[0]
    from_pil = classify(test[0]["image"])[0]
    assert from_file == from_pil and from_file["label"] == str(test[0]["label"])
    predictions = classify([row["image"] for row in test])
    correct = sum(p[0]["label"] == str(row["label"]) for p, row in zip(predictions, test))
    assert correct >= 36  # >= 90% of these 40 held-out digits
    # an image file of another size and mode: resized to 8x8 and made RGB by the pipeline
    Image.open(tmp_path / "digit.png").convert("L").resize((32, 32)).save(tmp_path / "big.png")
    assert classify(str(tmp_path / "big.png"))[0]["label"] in [str(d) for d in range(10)]


@pytest.mark.slow
def test_resume_from_checkpoint_continues_the_run(tmp_path, one_thread):
    first = train_vit(str(tmp_path / "vit"), epochs=2, seed=0)
    checkpoints = sorted(c.name for c in (tmp_path / "vit").glob("checkpoint-*"))
    assert checkpoints == ["checkpoint-23", "checkpoint-46"]  # 1437 images / 64 per batch = 23 steps per epoch
    resumed = train_vit(str(tmp_path / "vit"), epochs=3, seed=0, resume_from_checkpoint=True)  # the newest
    assert "checkpoint-69" in {c.name for c in (tmp_path / "vit").glob("checkpoint-*")}
    log = json.loads((tmp_path / "vit" / "training_log.json").read_text())
    assert max(entry["step"] for entry in log if "loss" in entry) == 60  # logged every 20 of the 69 steps
    assert resumed["eval_loss"] < first["eval_loss"]


@pytest.mark.slow
def test_cnn_vs_vit_curve(tmp_path, one_thread):
    results = cnn_vs_vit(str(tmp_path), fractions=(0.1, 0.5), steps=40, seed=0)
    assert results["fractions"] == [0.1, 0.5]
    assert results["train_sizes"] == [144, 719]
    for name in ("cnn_accuracy", "vit_accuracy"):
        assert len(results[name]) == 2 and all(0.0 <= a <= 1.0 for a in results[name])
    assert max(results["cnn_accuracy"]) > 0.5  # the CNN learns something in 40 steps
    png = Path(results["plot"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    width, height = struct.unpack(">II", png[16:24])
    assert width > 100 and height > 100
    assert json.loads((tmp_path / "cnn_vs_vit.json").read_text())["vit_accuracy"] == results["vit_accuracy"]


@pytest.mark.slow
def test_scripts_run(tmp_path):
    for script, extra in (("train_vit.py", []), ("cnn_vs_vit.py", ["--fractions", "0.5"])):
        result = subprocess.run(
            [sys.executable, str(REPO / "scripts" / script), "--output-dir", str(tmp_path / script), "--quick", *extra],
            capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "train_vit.py" / "model" / "model.safetensors").exists()
    assert (tmp_path / "cnn_vs_vit.py" / "cnn_vs_vit.png").exists()
