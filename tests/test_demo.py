"""The main job, `hf-lecture demo --quick`: every model trained, saved in hub format, reloaded, plotted."""

import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from PIL import Image

from hf_lecture.cli import main


@pytest.mark.slow
def test_quick_demo_runs_the_whole_lecture(tmp_path, capsys):
    output = tmp_path / "demo"
    assert main(["demo", "--quick", "--output-dir", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "word order, [CLS] + positions" in printed and "ViT digits" in printed

    results = json.loads((output / "results.json").read_text())
    for key in ("bert_pretraining", "word_order_cls", "word_order_mean_no_positions", "translation", "vit", "pipelines"):
        assert key in results, key
    assert results["bert_pretraining"]["after"]["mlm_loss"] < results["bert_pretraining"]["before"]["mlm_loss"]
    for search in ("greedy", "beam"):
        assert set(results["translation"][search]) == {"exact_match", "bleu", "chrf"}
    assert 0.0 <= results["vit"]["eval_accuracy"] <= 1.0
    # the pipelines answered from the saved folders
    pipelines = results["pipelines"]
    assert len(pipelines["fill-mask"]) == 3 and len(pipelines["image-classification"]) == 3
    assert set(pipelines["text-classification"].values()) <= {"original", "shuffled"}
    assert len(pipelines["seq2seq-generation"]) == 3

    # hub format: safetensors, config with auto_map, tokenizer or image processor, card; generation config
    folders = {
        "bert": results["bert_pretraining"]["model_dir"],
        "classifier": results["word_order_cls"]["model_dir"],
        "translation": results["translation"]["model_dir"],
        "vit": results["vit"]["model_dir"],
    }
    for name, folder in folders.items():
        folder = Path(folder)
        files = {p.name for p in folder.iterdir()}
        assert {"model.safetensors", "config.json", "README.md"} <= files, (name, files)
        assert not any(file.endswith((".bin", ".pt", ".pth")) for file in files)  # weights only as safetensors
        assert "auto_map" in json.loads((folder / "config.json").read_text())
        assert ("preprocessor_config.json" in files) if name == "vit" else ("tokenizer.json" in files), (name, files)
        card = ModelCard.load(folder / "README.md")
        assert card.data.library_name == "transformers" and card.data.license == "apache-2.0"
    assert (Path(folders["translation"]) / "generation_config.json").exists()

    plots = output / "plots"
    for png in ("positional_encoding.png", "loss_bert-pretraining.png", "loss_translation.png", "loss_vit.png"):
        assert Image.open(plots / png).size[0] > 200, png
    for kind in ("bert", "translation", "vit"):
        assert any((plots / kind).glob("*.png")), kind
