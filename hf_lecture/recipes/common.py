"""What every Trainer recipe shares: training arguments, checkpoints to resume from, the loss plot."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import Seq2SeqTrainingArguments, TrainingArguments


def training_arguments(
    output_dir: str | Path,
    *,
    epochs: float,
    batch_size: int,
    learning_rate: float,
    seed: int,
    seq2seq: bool = False,
    warmup_ratio: float = 0.05,
    weight_decay: float = 0.01,
    save_total_limit: int = 2,
    **extra,
) -> TrainingArguments:
    """Trainer arguments with the recipes' defaults: a checkpoint per epoch (so a run can resume),
    linear warm-up then cosine decay, progress bars, no external loggers, fixed seeds."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("learning_rate", learning_rate)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    cls = Seq2SeqTrainingArguments if seq2seq else TrainingArguments
    settings = dict(
        output_dir=str(output_dir),
        num_train_epochs=epochs,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=warmup_ratio,  # a fraction of the total steps when < 1
        weight_decay=weight_decay,
        lr_scheduler_type="cosine",
        logging_steps=10,
        save_strategy="epoch",
        save_total_limit=save_total_limit,
        report_to=[],
        seed=seed,
        data_seed=seed,
        disable_tqdm=False,  # progress bars on every training
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
    )
    settings.update(extra)
    return cls(**settings)


def save_every(save_steps: int | None) -> dict:
    """Trainer arguments for a checkpoint every ``save_steps`` optimizer steps (None: keep one per epoch)."""
    if save_steps is None:
        return {}
    if isinstance(save_steps, bool) or not isinstance(save_steps, int) or save_steps <= 0:
        raise ValueError(f"save_steps must be a positive integer, got {save_steps!r}")
    return {"save_strategy": "steps", "save_steps": save_steps}


def checkpoint_to_resume(output_dir: str | Path, resume_from_checkpoint: str | bool | None) -> str | None:
    """``True``: the newest ``checkpoint-*`` in output_dir (None when there is none); a path: that one."""
    if resume_from_checkpoint in (None, False):
        return None
    if resume_from_checkpoint is True or resume_from_checkpoint == "latest":
        # Trainer writes trainer_state.json last: a run killed while saving leaves a checkpoint without it.
        complete = (state.parent for state in Path(output_dir).glob("checkpoint-*/trainer_state.json"))
        checkpoints = sorted(complete, key=lambda p: int(p.name.split("-")[-1]))
        return str(checkpoints[-1]) if checkpoints else None
    path = Path(resume_from_checkpoint)
    if not (path / "trainer_state.json").exists():
        raise ValueError(f"resume_from_checkpoint: {path} is not a Trainer checkpoint (no trainer_state.json)")
    return str(path)


def save_training_log(trainer, folder: str | Path) -> Path:
    """Writes the Trainer's log history to ``training_log.json`` and its loss curve to ``loss_curve.png``."""
    from ..viz import plot_loss_curves

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "training_log.json"
    log_path.write_text(json.dumps(trainer.state.log_history, indent=1))
    if any("loss" in entry for entry in trainer.state.log_history):
        plot_loss_curves(trainer.state.log_history, folder / "loss_curve.png")
    return log_path
