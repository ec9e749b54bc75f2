"""Saving that never leaves a half-written model behind, and loading errors that name the file.

Each family's ``PreTrainedModel`` base class routes ``save_pretrained`` and ``from_pretrained``
through the two functions here:

- ``save_atomically``: transformers' ``save_pretrained`` writes into a temporary sibling folder; only
  when every file is written are they moved into place (``os.replace``, one rename per file). A save
  that fails midway (a full disk, a kill, an exception) leaves the previous contents of the folder as
  they were; the folder's other files (tokenizer, README, training logs) are never touched.
- ``load_pretrained``: weights are read only from safetensors files (never a pickle), and a damaged
  folder (truncated or corrupted ``model.safetensors``, a ``config.json`` of another family, weights
  whose shapes do not match ``config.json``) is an error that names the file and what is wrong.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from safetensors import SafetensorError, safe_open
from transformers.utils import logging

CONFIG_NAME = "config.json"


def _move_order(name: str) -> int:
    """Code first, weight shards next, their index after them, config.json last.

    A folder is a model only once its config.json is there: a fresh save that stops while moving is
    never mistaken for a whole model, and an index never names a shard that is not yet in place.
    """
    if name == CONFIG_NAME:
        return 4
    if name.endswith(".index.json"):
        return 2
    if name.endswith(".safetensors"):
        return 1
    return 0 if name.endswith(".py") else 3


def _is_weights_file(name: str) -> bool:
    return name.startswith(("model", "pytorch_model")) and name.endswith((".safetensors", ".bin", ".index.json"))


def save_atomically(save: Callable[[str], None], save_directory: str | os.PathLike) -> None:
    """Run ``save(staging_folder)``, then move what it wrote into ``save_directory``.

    ``save`` is transformers' own ``save_pretrained``. Weight files of an earlier save that the new one
    does not have (a model saved in one file, then in shards) are removed once the new ones are in place.
    """
    target = Path(save_directory)
    if target.exists() and not target.is_dir():
        raise OSError(f"save_pretrained: {target} is a file, not a folder")
    target.mkdir(parents=True, exist_ok=True)
    # A sibling folder is on the same file system: each os.replace below is an atomic rename.
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.saving-", dir=target.parent))
    try:
        save(str(staging))
        written = sorted((path.name for path in staging.iterdir()), key=lambda name: (_move_order(name), name))
        for name in written:
            source = staging / name
            if source.is_dir():  # (save_pretrained writes flat folders; kept for completeness)
                shutil.copytree(source, target / name, dirs_exist_ok=True)
            else:
                os.replace(source, target / name)
        for stale in target.iterdir():
            if stale.is_file() and _is_weights_file(stale.name) and stale.name not in written:
                stale.unlink()
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _local_folder(path, subfolder: str) -> Path | None:
    folder = Path(os.fspath(path)) / subfolder if isinstance(path, (str, os.PathLike)) else None
    return folder if folder is not None and folder.is_dir() else None


def _check_model_type(cls, folder: Path) -> None:
    """config.json's model_type must be the family of ``cls`` (transformers only warns, then misreads)."""
    config_file = folder / CONFIG_NAME
    try:
        model_type = json.loads(config_file.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return  # missing or malformed: transformers' own error names the file
    expected = cls.config_class.model_type
    if model_type is not None and model_type != expected:
        raise ValueError(
            f"{config_file}: model_type is {model_type!r}, but {cls.__name__} loads {expected!r} models; "
            "load this folder with the Auto class of its task (e.g. AutoModel.from_pretrained)"
        )


def _unreadable_weights(folder: Path) -> tuple[Path, str] | None:
    """The first safetensors file in ``folder`` that cannot be opened, and why."""
    for file in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(file), framework="pt") as weights:
                for key in weights.keys():
                    weights.get_slice(key)
        except (SafetensorError, OSError) as error:
            return file, str(error)
    return None


def load_pretrained(cls, from_pretrained: Callable, path, *args, **kwargs):
    """``from_pretrained`` (transformers') with safetensors only and errors that name the file."""
    kwargs.setdefault("use_safetensors", True)  # weights are never unpickled
    folder = _local_folder(path, kwargs.get("subfolder", ""))
    if folder is not None and kwargs.get("config") is None:
        _check_model_type(cls, folder)
    try:
        return from_pretrained(path, *args, **kwargs)
    except SafetensorError as error:
        bad = _unreadable_weights(folder) if folder is not None else None
        file, reason = bad if bad is not None else (folder or path, str(error))
        raise OSError(
            f"{file}: not a readable safetensors file ({reason}); it is truncated or corrupted, save or download it again"
        ) from error
    except RuntimeError as error:
        if folder is None or "ignore_mismatched_sizes" not in str(error):
            raise
        # Load once more, tolerating the mismatch, only to list it (quietly: transformers logged it already).
        verbosity = logging.get_verbosity()
        logging.set_verbosity_error()
        try:
            _, info = from_pretrained(path, *args, **{**kwargs, "ignore_mismatched_sizes": True, "output_loading_info": True})
        finally:
            logging.set_verbosity(verbosity)
        mismatched = sorted(info["mismatched_keys"])
        listed = "; ".join(f"{key}: file {tuple(saved)}, config {tuple(built)}" for key, saved, built in mismatched[:3])
        more = f" (and {len(mismatched) - 3} more)" if len(mismatched) > 3 else ""
        weights = next(iter(sorted(folder.glob("*.safetensors"))), folder)
        raise ValueError(
            f"{weights}: {len(mismatched)} weight shapes do not match {folder / CONFIG_NAME}: {listed}{more}"
        ) from error
    except (ValueError, OSError) as error:
        if folder is None or str(folder) in str(error):
            raise
        raise (OSError if isinstance(error, OSError) else ValueError)(f"{folder}: {error}") from error


class SavingMixin:
    """Put first in a family's PreTrainedModel bases: atomic ``save_pretrained``, checked ``from_pretrained``."""

    def save_pretrained(self, save_directory, *args, **kwargs) -> None:
        """transformers' save_pretrained, made atomic (``save_atomically``).

        With ``push_to_hub=True`` (the hub repo is named after the folder) or on a process that is not the
        main one (it writes nothing), transformers' own method runs as it is.
        """
        if kwargs.get("push_to_hub") or not kwargs.get("is_main_process", True):
            return super().save_pretrained(save_directory, *args, **kwargs)
        save_atomically(lambda folder: super(SavingMixin, self).save_pretrained(folder, *args, **kwargs), save_directory)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """transformers' from_pretrained, reading safetensors only, with errors that name the file."""
        return load_pretrained(cls, super().from_pretrained, pretrained_model_name_or_path, *args, **kwargs)
