"""Loss curves of a ``Trainer`` run, from ``trainer.state.log_history`` or a ``trainer_state.json``.

Trainer logs one dict per logging step: training entries carry ``loss`` (plus ``learning_rate``,
``grad_norm``, ``epoch``, ``step``), evaluation entries carry ``eval_loss`` and any other
``eval_*`` metric, and the last entry is a summary with ``train_loss`` (the run's average),
which is not a point on a curve. Any other key ending in ``loss`` (``mlm_loss``, ``nsp_loss``,
``eval_mlm_loss``, ...) gets a curve of its own.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from .figure import new_figure, save_figure

SUMMARY_KEYS = {"train_loss"}  # written once at the end of train(): an average, not a curve point
LOG_SCALE_RATIO = 20.0  # a loss that falls by more than this factor is drawn on a log axis


def read_log_history(source) -> tuple[list[dict], str]:
    """The log history and a name for it, from a list of dicts, a Trainer, a TrainerState, or a path.

    A path may be a ``trainer_state.json`` file, a checkpoint folder holding one, or a Trainer
    output folder, whose latest ``checkpoint-N`` is used when it has no state file of its own.
    """
    if isinstance(source, (list, tuple)):
        return list(source), "log history"
    if hasattr(source, "state") and hasattr(source.state, "log_history"):  # a Trainer
        return list(source.state.log_history), "trainer.state.log_history"
    if hasattr(source, "log_history"):  # a TrainerState
        return list(source.log_history), "trainer state"
    if not isinstance(source, (str, Path)):
        raise ValueError(
            "log_history_or_trainer_state_path must be a list of log dicts, a Trainer, a TrainerState "
            f"or a path to trainer_state.json, got {type(source).__name__}"
        )
    path = trainer_state_file(Path(source))
    try:
        state = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from error
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        raise ValueError(f"{path} has no 'log_history' list: is it a Trainer's trainer_state.json?")
    return state["log_history"], str(path)


def trainer_state_file(path: Path) -> Path:
    """``path`` itself, ``path/trainer_state.json``, or that of the latest ``path/checkpoint-N``."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise ValueError(f"trainer state not found: {path} is neither a file nor a folder")
    if (path / "trainer_state.json").is_file():
        return path / "trainer_state.json"
    checkpoints = [p for p in path.glob("checkpoint-*") if re.fullmatch(r"checkpoint-\d+", p.name)]
    checkpoints = [p for p in checkpoints if (p / "trainer_state.json").is_file()]
    if not checkpoints:
        raise ValueError(f"no trainer_state.json in {path} nor in a checkpoint-N folder inside it")
    latest = max(checkpoints, key=lambda p: int(p.name.split("-")[1]))
    return latest / "trainer_state.json"


def loss_series(log_history: list[dict]) -> dict[str, tuple[list[float], list[float]]]:
    """{key: (steps, values)} for every logged loss, in the order the keys first appear."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for index, entry in enumerate(log_history):
        if not isinstance(entry, dict):
            continue
        step = entry.get("step", index)
        for key, value in entry.items():
            if not key.endswith("loss") or key in SUMMARY_KEYS or not isinstance(value, (int, float)):
                continue
            if math.isfinite(value):
                steps, values = series.setdefault(key, ([], []))
                steps.append(step)
                values.append(float(value))
    return series


def plot_loss_curves(log_history_or_trainer_state_path, path: str | Path) -> Path:
    """Training loss, evaluation loss and any other logged loss against the optimizer step, as a PNG.

    With a logged learning rate, a second panel below shows its schedule on the same steps.
    """
    log_history, name = read_log_history(log_history_or_trainer_state_path)
    series = loss_series(log_history)
    if not series:
        raise ValueError(f"{name} has no loss entries ('loss', 'eval_loss' or another '*loss' key) to plot")
    learning_rate = [
        (entry["step"], entry["learning_rate"])
        for entry in log_history
        if isinstance(entry, dict) and "learning_rate" in entry and "step" in entry
    ]

    figure = new_figure(9, 6.5 if learning_rate else 5)
    if learning_rate:
        loss_axes, rate_axes = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    else:
        loss_axes, rate_axes = figure.subplots(1, 1), None

    for key, (steps, values) in series.items():
        is_eval = key.startswith("eval_")
        label = {"loss": "train loss", "eval_loss": "eval loss"}.get(key, key.replace("_", " "))
        loss_axes.plot(
            steps,
            values,
            label=label,
            marker="o" if is_eval or len(steps) < 30 else None,
            markersize=4,
            linestyle="--" if is_eval else "-",
            linewidth=1.6,
        )
    values = [v for _, vs in series.values() for v in vs]
    log_scale = min(values) > 0 and max(values) / min(values) > LOG_SCALE_RATIO
    if log_scale:
        loss_axes.set_yscale("log")
    loss_axes.set_ylabel("loss (log scale)" if log_scale else "loss")
    loss_axes.set_title("Loss curves")
    loss_axes.grid(alpha=0.3, which="both")
    loss_axes.legend()

    if rate_axes is not None:
        rate_axes.plot([s for s, _ in learning_rate], [r for _, r in learning_rate], color="gray")
        rate_axes.set_ylabel("learning rate")
        rate_axes.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        rate_axes.grid(alpha=0.3)
        rate_axes.set_xlabel("optimizer step")
    else:
        loss_axes.set_xlabel("optimizer step")
    return save_figure(figure, path)
