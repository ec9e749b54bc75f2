"""`hf-lecture demo`: the whole lecture end to end, offline, on data that ships with Python packages.

1. BERT: train a WordPiece tokenizer, pre-train with MLM + NSP on the Python reference prose.
2. Fine-tune it with the [CLS] head on the word-order task (original sentence vs shuffled words), and
   the lecture's rejected baseline: mean pooling with no position embeddings, which cannot tell.
3. The encoder-decoder Transformer translates English number words to Korean number words, evaluated
   on numbers never seen in training with greedy and beam search (exact match, BLEU, chrF).
4. ViT on scikit-learn's handwritten digits.
5. Every model is saved in hub format, reloaded with the Auto classes and run through ``pipeline()``.
6. A results table, ``results.json`` and the plots (positional encoding, attention maps, loss curves).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from transformers import (
    AutoImageProcessor,
    AutoModelForImageClassification,
    AutoModelForPreTraining,
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    pipeline,
)

from ..data.digits import load_digits_dataset
from ..viz import attention_maps, plot_loss_curves, plot_positional_encoding
from . import bert, translate, vit

# The run sizes: default (under 10 minutes on 2 CPU cores) and --quick (under 2 minutes, for the tests).
SETTINGS = {
    "default": {
        # NSP only starts to learn after ~1,000 steps at this size (transformers' BERT alike): 30 epochs ~ 1,500 steps
        "pretrain": dict(epochs=30.0, learning_rate=1e-3, hidden_size=128, layers=2, heads=2, intermediate_size=512, max_length=64),
        "finetune": dict(epochs=6.0, learning_rate=5e-4),
        "translate": dict(d_model=64, layers=2, heads=4, ffn_dim=256, epochs=15, learning_rate=2e-3),
        "vit": dict(),
    },
    "quick": {
        "pretrain": dict(quick=True),
        "finetune": dict(quick=True, epochs=1.0, learning_rate=1e-4),
        "translate": dict(quick=True),
        "vit": dict(quick=True),
    },
}


def _pipelines(folders: dict[str, Path], plots: Path) -> dict:
    """Reload every saved folder with its Auto class, answer through pipeline(), and plot attention."""
    answers = {}
    bert_model = AutoModelForPreTraining.from_pretrained(folders["bert"], attn_implementation="eager")
    tokenizer = AutoTokenizer.from_pretrained(folders["bert"])
    fill = pipeline("fill-mask", model=folders["bert"], top_k=3)
    answers["fill-mask"] = [(r["token_str"], round(r["score"], 3)) for r in fill("a [MASK] statement is executed.")]
    sentence = "the for statement is used to iterate over the elements of a sequence."
    attention_maps(bert_model, dict(tokenizer(sentence, return_tensors="pt")), tokenizer, plots / "bert", prefix="bert_")

    AutoModelForSequenceClassification.from_pretrained(folders["classifier"])
    classify = pipeline("text-classification", model=folders["classifier"])
    answers["text-classification"] = {text: classify(text)[0]["label"] for text in (sentence, "is iterate used statement the for to")}

    translator_model = AutoModelForSeq2SeqLM.from_pretrained(folders["translation"], attn_implementation="eager")
    translator_tokenizer = AutoTokenizer.from_pretrained(folders["translation"])
    translator = pipeline("seq2seq-generation", model=folders["translation"], num_beams=4, max_new_tokens=32)
    sources = ["six hundred and sixty-three", "four thousand and twelve", "nine thousand nine hundred and ninety-nine"]
    answers["seq2seq-generation"] = {text: translator(text)[0]["generated_text"] for text in sources}
    source = translator_tokenizer(sources[0], return_tensors="pt")
    target = translator_model.generate(**source, num_beams=4, max_new_tokens=32)
    attention_maps(
        translator_model, dict(source, decoder_input_ids=target), translator_tokenizer, plots / "translation", prefix="translation_"
    )

    vit_model = AutoModelForImageClassification.from_pretrained(folders["vit"], attn_implementation="eager")
    processor = AutoImageProcessor.from_pretrained(folders["vit"])
    image = load_digits_dataset()["test"][0]["image"]
    classify_image = pipeline("image-classification", model=folders["vit"])
    answers["image-classification"] = [(r["label"], round(r["score"], 3)) for r in classify_image(image, top_k=3)]
    attention_maps(vit_model, dict(processor(image, return_tensors="pt")), None, plots / "vit", prefix="vit_")
    return answers


def run_demo(output_dir: str | Path = "demo-output", *, quick: bool = False) -> dict:
    """Run the lecture end to end; returns every reported figure (also written to results.json)."""
    output_dir = Path(output_dir)
    plots = output_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    settings = SETTINGS["quick" if quick else "default"]
    start = time.perf_counter()
    results: dict = {}

    print("== 1. BERT pre-training (MLM + NSP) on the Python reference prose", flush=True)
    results["bert_pretraining"] = bert.pretrain_bert(output_dir / "bert-pretraining", **settings["pretrain"])
    bert_dir = results["bert_pretraining"]["model_dir"]

    print("== 2. Fine-tuning on the word-order task: [CLS] + positions vs mean pooling without positions", flush=True)
    results["word_order_cls"] = bert.finetune(output_dir / "word-order-cls", model_dir=bert_dir, **settings["finetune"])
    results["word_order_mean_no_positions"] = bert.finetune(
        output_dir / "word-order-mean", model_dir=bert_dir, pooling="mean", position_embedding_type="none", **settings["finetune"]
    )

    print("== 3. Encoder-decoder: English number words -> Korean number words", flush=True)
    results["translation"] = translate.train_translation(output_dir / "translation", **settings["translate"])

    print("== 4. ViT on handwritten digits", flush=True)
    results["vit"] = vit.train_vit(str(output_dir / "vit"), **settings["vit"])

    print("== 5. Reload from the saved folders, pipelines, plots", flush=True)
    folders = {
        "bert": Path(bert_dir),
        "classifier": Path(results["word_order_cls"]["model_dir"]),
        "translation": Path(results["translation"]["model_dir"]),
        "vit": Path(results["vit"]["model_dir"]),
    }
    results["pipelines"] = _pipelines(folders, plots)
    plot_positional_encoding(plots / "positional_encoding.png")
    for name in ("bert-pretraining", "word-order-cls", "translation", "vit"):
        log = output_dir / name / "training_log.json"
        if log.exists():
            plot_loss_curves(json.loads(log.read_text()), plots / f"loss_{name}.png")
    results["seconds"] = round(time.perf_counter() - start, 1)
    results["output_dir"] = str(output_dir)

    (output_dir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    print(results_table(results), flush=True)
    return results


def results_table(results: dict) -> str:
    """The headline figures, one line each."""
    pre, translation = results["bert_pretraining"], results["translation"]
    rows = [
        ("BERT MLM loss (held-out)", f"{pre['before']['mlm_loss']:.2f} -> {pre['after']['mlm_loss']:.2f}"),
        ("BERT NSP loss (held-out)", f"{pre['before']['nsp_loss']:.3f} -> {pre['after']['nsp_loss']:.3f}"),
        ("word order, [CLS] + positions: accuracy", f"{results['word_order_cls']['accuracy']:.3f}"),
        ("word order, mean pooling, no positions", f"{results['word_order_mean_no_positions']['accuracy']:.3f}"),
    ]
    for search in ("greedy", "beam"):
        scores = translation[search]
        rows.append(
            (f"en->ko numbers, {search}: exact / BLEU / chrF",
             f"{scores['exact_match']:.3f} / {scores['bleu']:.1f} / {scores['chrf']:.1f}")  # fmt: skip
        )
    rows.append(("ViT digits: held-out accuracy", f"{results['vit']['eval_accuracy']:.3f}"))
    rows.append(("total time (s)", f"{results['seconds']:.0f}"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(["", "results", "-------"] + [f"{name:<{width}}  {value}" for name, value in rows])
