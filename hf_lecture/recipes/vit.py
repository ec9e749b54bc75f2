"""Trainer recipes for the ViT: train an image classifier, and compare a CNN with the ViT as data grows.

- ``train_vit``: LectureViTForImageClassification on the digits (or an image folder) with ``Trainer``;
  saves the model and its image processor so that ``pipeline("image-classification", model=folder)`` works.
- ``cnn_vs_vit``: the lecture's claim that a CNN learns locality quickly while a Transformer needs much
  more data: a small CNN and the ViT trained on growing fractions of the training set, held-out accuracy
  plotted against the number of training images (PNG).

Both are called by ``scripts/train_vit.py``, ``scripts/cnn_vs_vit.py`` and the ``hf-lecture train-vit`` command.
"""

from __future__ import annotations

import json
import math
import os
import time

import numpy as np
import torch
from datasets import Dataset
from torch import nn
from transformers import Trainer, set_seed
from transformers.modeling_outputs import ImageClassifierOutput

from ..hub import save_for_hub
from ..data.digits import ImageClassificationCollator, label_names, load_image_dataset, make_image_processor
from ..models.configuration_vit import LectureViTConfig
from ..models.modeling_vit import LectureViTForImageClassification
from ..viz.figure import new_figure, save_figure
from .common import checkpoint_to_resume, save_training_log, training_arguments

# The ViT the digits recipes train: 8x8 images cut into 2x2 patches (16 patch tokens + [CLS]).
DIGITS_VIT = dict(
    image_size=8, patch_size=2, hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=128
)


def accuracy(eval_prediction) -> dict[str, float]:
    """Trainer's compute_metrics: the share of images whose arg-max class is the label."""
    logits, labels = eval_prediction.predictions, eval_prediction.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    return {"accuracy": float((np.argmax(logits, axis=-1) == labels).mean())}


def _fit(
    model: nn.Module,
    train: Dataset,
    test: Dataset,
    image_processor,
    output_dir: str,
    *,
    epochs: float,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    seed: int,
    max_steps: int = -1,
    save_checkpoints: bool = False,
    resume_from_checkpoint: str | None = None,
) -> tuple[Trainer, dict[str, float]]:
    """Train with Trainer (AdamW, 10% warm-up then cosine decay) and evaluate on the held-out split."""
    args = training_arguments(
        output_dir,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        warmup_ratio=0.1,
        weight_decay=weight_decay,
        max_steps=max_steps,
        per_device_eval_batch_size=256,
        save_strategy="epoch" if save_checkpoints else "no",
        logging_steps=20,
        disable_tqdm=True,
        remove_unused_columns=False,  # the collator needs the "image" column, which forward() does not name
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=test,
        data_collator=ImageClassificationCollator(image_processor),
        compute_metrics=accuracy,
    )
    trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    return trainer, trainer.evaluate()


def _vit_config(labels: list[str], **sizes) -> LectureViTConfig:
    return LectureViTConfig(
        **sizes,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: index for index, name in enumerate(labels)},
    )


def train_vit(
    output_dir: str,
    *,
    epochs: float = 30,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    weight_decay: float = 0.05,
    image_size: int = DIGITS_VIT["image_size"],
    patch_size: int = DIGITS_VIT["patch_size"],
    hidden_size: int = DIGITS_VIT["hidden_size"],
    num_hidden_layers: int = DIGITS_VIT["num_hidden_layers"],
    num_attention_heads: int = DIGITS_VIT["num_attention_heads"],
    intermediate_size: int = DIGITS_VIT["intermediate_size"],
    seed: int = 0,
    resume_from_checkpoint: str | bool | None = None,
    data_dir: str | None = None,
    quick: bool = False,
) -> dict:
    """Train LectureViTForImageClassification with Trainer; save model + image processor to ``output_dir``.

    output_dir: where the model, ``preprocessor_config.json``, ``metrics.json``, the training log and its
        loss curve, and a checkpoint per epoch go.
    epochs, batch_size, learning_rate, weight_decay: the AdamW run (10% warm-up, then cosine decay).
    image_size, patch_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size: the
        LectureViTConfig fields (images are resized to image_size x image_size by the image processor).
    seed: model initialisation, data order, and the fixed 20% held-out split.
    resume_from_checkpoint: a checkpoint folder, or True / "latest": the newest checkpoint-* in output_dir.
    data_dir: a folder of images, one sub-folder per class (datasets "imagefolder"), or a dataset saved with
        ``save_to_disk`` with "image" and "label" columns; None: scikit-learn's handwritten digits.
    quick: 10 epochs (about 80% on the digits in ~15 s on one CPU core), for demos and smoke tests.
    Returns the measured figures: eval_accuracy, eval_loss, train_seconds, train_examples, eval_examples,
        epochs, num_parameters, and model_dir (output_dir/model: weights, image processor, model card).
    """
    set_seed(seed)
    splits = load_image_dataset(data_dir, seed=seed)
    labels = label_names(splits["train"])
    image_processor = make_image_processor(image_size)
    config = _vit_config(
        labels,
        image_size=image_size,
        patch_size=patch_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
    )
    model = LectureViTForImageClassification(config)
    epochs = 10 if quick else epochs

    start = time.perf_counter()
    trainer, evaluation = _fit(
        model,
        splits["train"],
        splits["test"],
        image_processor,
        output_dir,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        seed=seed,
        save_checkpoints=True,
        resume_from_checkpoint=checkpoint_to_resume(output_dir, resume_from_checkpoint),
    )
    seconds = time.perf_counter() - start
    save_training_log(trainer, output_dir)  # training_log.json and loss_curve.png
    model_dir = os.path.join(output_dir, "model")
    save_for_hub(
        model,
        model_dir,
        image_processor=image_processor,
        datasets=["sklearn-digits" if data_dir is None else os.path.basename(os.path.normpath(data_dir))],
        metrics={"accuracy": evaluation["eval_accuracy"]},
        trained_on=(
            "scikit-learn's handwritten digits (load_digits: 1,797 8x8 gray images, 10 classes) as RGB images; "
            "accuracy on a fixed, stratified 20% held-out split." if data_dir is None else f"the images in {data_dir}"
        ),
        eval_split="test (20% held out)",
    )

    metrics = {
        "eval_accuracy": evaluation["eval_accuracy"],
        "eval_loss": evaluation["eval_loss"],
        "train_seconds": round(seconds, 2),
        "train_examples": len(splits["train"]),
        "eval_examples": len(splits["test"]),
        "epochs": epochs,
        "num_parameters": model.num_parameters(),
        "model_dir": model_dir,  # the model, its image processor and card, ready for pipeline()
    }
    with open(os.path.join(output_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    return metrics


# ----------------------------------------------------------------------------------------------
# CNN vs ViT: how held-out accuracy grows with the amount of training data
# ----------------------------------------------------------------------------------------------


class SmallCNN(nn.Module):
    """Two 3x3 conv blocks and a linear head: locality and translation equivariance are built in.

    (B, 3, H, W) -> conv 3x3 -> ReLU -> conv 3x3 -> ReLU -> max-pool 2 -> conv 3x3 -> ReLU
    -> global average pool -> linear -> (B, num_labels). Returns the same output type as the ViT.
    """

    def __init__(self, num_labels: int, num_channels: int = 3, width: int = 32):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(num_channels, width, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(2 * width, num_labels)

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None) -> ImageClassifierOutput:
        logits = self.classifier(self.features(pixel_values).flatten(1))  # (B, 2 * width) -> (B, num_labels)
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return ImageClassifierOutput(loss=loss, logits=logits)


def balanced_order(labels: list[int], seed: int) -> np.ndarray:
    """A seeded order of the training images in which every prefix holds the classes in near-equal numbers.

    Growing fractions are prefixes of this order, so each smaller training set is inside the larger ones.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    shuffled = rng.permutation(len(labels))
    rank = np.zeros(len(labels), dtype=np.int64)  # how many earlier images of the same class
    seen: dict[int, int] = {}
    for index in shuffled:
        rank[index] = seen.get(int(labels[index]), 0)
        seen[int(labels[index])] = rank[index] + 1
    return shuffled[np.argsort(rank[shuffled], kind="stable")]


def plot_curve(results: dict, path: str) -> None:
    """Held-out accuracy (y) against the number of training images (x, log scale), one line per model."""
    figure = new_figure(6, 4)
    axes = figure.add_subplot()
    axes.plot(results["train_sizes"], results["cnn_accuracy"], "o-", label="small CNN")
    axes.plot(results["train_sizes"], results["vit_accuracy"], "s-", label="ViT")
    axes.set_xscale("log")
    axes.set_xlabel("training images")
    axes.set_ylabel("held-out accuracy")
    axes.set_ylim(0.0, 1.0)
    axes.grid(True, alpha=0.3)
    axes.set_title("CNN vs ViT as the training set grows")
    axes.legend()
    save_figure(figure, path)


def cnn_vs_vit(
    output_dir: str,
    *,
    fractions: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0),
    steps: int = 600,
    batch_size: int = 64,
    learning_rate: float = 2e-3,
    weight_decay: float = 0.05,
    seed: int = 0,
    data_dir: str | None = None,
    quick: bool = False,
) -> dict:
    """Train a small CNN and the ViT on growing fractions of the training set; plot held-out accuracy.

    output_dir: where ``cnn_vs_vit.png`` and ``cnn_vs_vit.json`` are written.
    fractions: shares of the training split, each in (0, 1]; smaller sets are subsets of larger ones and
        hold the classes in near-equal numbers.
    steps: optimizer steps for every run (the same for every fraction and both models, so a small set is
        seen for more epochs rather than for fewer updates).
    batch_size, learning_rate, weight_decay, seed: the AdamW run; the ViT has the sizes of ``DIGITS_VIT``.
    data_dir: as in ``train_vit``; None: scikit-learn's handwritten digits.
    quick: 60 steps per run, a smoke test of the whole pipeline.
    Returns fractions, train_sizes, cnn_accuracy, vit_accuracy (one per fraction), plot (the PNG's path), seconds.
    """
    if not fractions or any(not 0.0 < f <= 1.0 for f in fractions):
        raise ValueError(f"fractions must be shares in (0, 1], got {fractions!r}")
    steps = 60 if quick else steps
    os.makedirs(output_dir, exist_ok=True)
    splits = load_image_dataset(data_dir, seed=seed)
    labels = label_names(splits["train"])
    image_size = DIGITS_VIT["image_size"]
    image_processor = make_image_processor(image_size)
    order = balanced_order(splits["train"]["label"], seed)

    results = {"fractions": sorted(fractions), "train_sizes": [], "cnn_accuracy": [], "vit_accuracy": []}
    start = time.perf_counter()
    for fraction in results["fractions"]:
        size = max(len(labels), math.ceil(fraction * len(order)))
        train = splits["train"].select(order[:size].tolist())
        results["train_sizes"].append(size)
        builders = {
            "cnn": lambda: SmallCNN(len(labels)),
            "vit": lambda: LectureViTForImageClassification(_vit_config(labels, **DIGITS_VIT)),
        }
        for name, build in builders.items():
            set_seed(seed)  # the same initial randomness and data order for every run
            _, evaluation = _fit(
                build(),
                train,
                splits["test"],
                image_processor,
                os.path.join(output_dir, f"runs/{name}-{size}"),
                epochs=1,
                max_steps=steps,
                batch_size=batch_size,
                learning_rate=learning_rate,
                weight_decay=weight_decay,
                seed=seed,
            )
            results[f"{name}_accuracy"].append(evaluation["eval_accuracy"])
    results["seconds"] = round(time.perf_counter() - start, 2)
    results["plot"] = os.path.join(output_dir, "cnn_vs_vit.png")
    plot_curve(results, results["plot"])
    with open(os.path.join(output_dir, "cnn_vs_vit.json"), "w") as f:
        json.dump(results, f, indent=2)
    return results


__all__ = ["DIGITS_VIT", "SmallCNN", "accuracy", "balanced_order", "cnn_vs_vit", "plot_curve", "train_vit"]
