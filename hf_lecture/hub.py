"""Hub format: model cards, saving a model with everything it needs, and pushing a folder to the hub.

    save_for_hub(model, "runs/numbers", tokenizer=tok, datasets=["numbers"], metrics={"bleu": 97.1},
                 trained_on="10,000 number-to-words pairs made with num2words.")
    push_folder("runs/numbers", "your-name/lecture-numbers")        # what `hf-lecture push DIR REPO_ID` runs

The card is rendered from ``model_cards/``: ``model_card.md`` is the page every model gets, and
``<model_type>.md`` holds what one family adds to it, in four parts split by ``---usage---``,
``---intended use---`` and ``---limitations---`` lines. Both are ``string.Template`` text (``$name``).
The YAML header is written by huggingface_hub's ``ModelCardData``, so it is the metadata the hub
reads (library_name, pipeline_tag, tags, datasets, metrics, license, and ``model-index`` with the
measured results).
"""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from huggingface_hub import CommitOperationAdd, EvalResult, HfApi, ModelCard, ModelCardData

# The templates: in the package when installed from a wheel, else in the checkout's model_cards/.
_HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = next((d for d in (_HERE / "model_cards", _HERE.parent / "model_cards") if d.is_dir()), None)

# Written into the card's loading examples when the repo id is not known yet; push_folder replaces it.
MODEL_ID_PLACEHOLDER = "your-name/your-model"

# Files a folder must hold to be a model that from_pretrained can load.
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
# Never pushed: hidden files and folders, and Trainer's checkpoint-N folders (optimizer states).
SKIPPED_PATTERNS = (".*", "checkpoint-*")


@dataclass(frozen=True)
class Head:
    pipeline_tag: str  # the hub's task tag (what the model page lists it under)
    pipeline_task: str | None  # the task name for transformers.pipeline(), None where none fits


HEADS = {
    "LectureTransformerForConditionalGeneration": Head("text2text-generation", "seq2seq-generation"),
    "LectureTransformerForCausalLM": Head("text-generation", "text-generation"),
    "LectureTransformerModel": Head("feature-extraction", None),
    "LectureBertModel": Head("feature-extraction", "feature-extraction"),
    "LectureBertForPreTraining": Head("fill-mask", None),
    "LectureBertForMaskedLM": Head("fill-mask", "fill-mask"),
    "LectureBertForNextSentencePrediction": Head("text-classification", None),
    "LectureBertForSequenceClassification": Head("text-classification", "text-classification"),
    "LectureBertForTokenClassification": Head("token-classification", "token-classification"),
    "LectureViTModel": Head("image-feature-extraction", "image-feature-extraction"),
    "LectureViTForImageClassification": Head("image-classification", "image-classification"),
}

# The config fields that give a family's size, in the order the card lists them.
SIZE_FIELDS = {
    "lecture_transformer": ("d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
                            "encoder_ffn_dim", "vocab_size", "max_position_embeddings", "normalize_before"),
    "lecture_bert": ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "vocab_size", "max_position_embeddings"),
    "lecture_vit": ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                    "image_size", "patch_size", "num_channels"),
}  # fmt: skip


def write_model_card(
    folder: str | Path,
    *,
    model,
    datasets: str | list[str],
    metrics: dict[str, float],
    trained_on: str,
    task: str | None = None,
    license: str = "apache-2.0",
    repo_id: str | None = None,
    title: str | None = None,
    summary: str = "",
    language: str | list[str] | None = None,
    tags: list[str] | None = None,
    eval_dataset: str | None = None,
    eval_split: str | None = None,
    intended_use: str = "",
    limitations: str = "",
) -> ModelCard:
    """Writes ``folder/README.md`` for ``model`` and returns the parsed card.

    datasets: what it was trained on (hub dataset ids where they exist); metrics: name -> measured
    value on ``eval_dataset`` (default: the first dataset); trained_on: a sentence or two on the
    training data and run; task: the hub's pipeline tag (default: the one for the model's class);
    repo_id: the id used in the loading examples (default: a placeholder that push_folder fills in);
    intended_use / limitations: added after the family's own text.
    """
    model_type = model.config.model_type
    class_name = type(model).__name__
    if model_type not in SIZE_FIELDS:
        raise ValueError(f"model: cards are written for hf_lecture models {sorted(SIZE_FIELDS)}, got {model_type!r}")
    if task is None and class_name not in HEADS:
        raise ValueError(f"task: no hub pipeline tag is known for {class_name}; pass task=...")
    head = HEADS.get(class_name, Head(task, None))
    pipeline_tag = task or head.pipeline_tag
    datasets = [datasets] if isinstance(datasets, str) else list(datasets)
    if not all(isinstance(d, str) and d.strip() for d in datasets):
        raise ValueError(f"datasets must be non-empty names, got {datasets!r}")
    if not isinstance(trained_on, str) or not trained_on.strip():
        raise ValueError("trained_on must say what the model was trained on (a non-empty string)")
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"metrics[{name!r}] must be a finite number, got {value!r}")
    eval_dataset = eval_dataset or (datasets[0] if datasets else None)
    if metrics and eval_dataset is None:
        raise ValueError("metrics need the dataset they were measured on: pass datasets or eval_dataset")

    title = title or (repo_id.split("/")[-1] if repo_id else class_name)
    eval_results = [
        EvalResult(task_type=pipeline_tag, dataset_type=eval_dataset, dataset_name=eval_dataset,
                   dataset_split=eval_split, metric_type=name, metric_name=name, metric_value=float(value))
        for name, value in metrics.items()
    ]  # fmt: skip
    card_data = ModelCardData(
        library_name="transformers",  # it loads with transformers (hf_lecture or trust_remote_code)
        pipeline_tag=pipeline_tag,
        tags=["hf_lecture", model_type, "from-scratch", *(tags or [])],
        datasets=datasets or None,
        metrics=list(metrics) or None,
        license=license,
        language=language,
        model_name=title,
        eval_results=eval_results or None,
    )

    family, usage, family_use, family_limits = _family_parts(model_type)
    auto_class = _auto_class(model)
    fields = dict(
        model_id=repo_id or MODEL_ID_PLACEHOLDER, model_class=class_name, model_type=model_type,
        auto_class=auto_class, pipeline_task=head.pipeline_task or "",
    )  # fmt: skip
    content = _render(
        "model_card.md",
        metadata=card_data.to_yaml(),
        title=title,
        summary=summary or f"A `{class_name}` ({pipeline_tag}) trained with hf_lecture.",
        family_section=_render_text(family, **fields),
        architecture_table="\n".join(
            f"| `{name}` | {getattr(model.config, name)} |"
            for name in SIZE_FIELDS[model_type] if hasattr(model.config, name)
        ),  # fmt: skip
        num_parameters=f"{model.num_parameters():,}",
        trained_on=trained_on.strip(),
        datasets=", ".join(f"`{d}`" for d in datasets) or "(none named)",
        results=_results_table(metrics, eval_dataset, eval_split),
        usage=_render_text(usage, **fields) if head.pipeline_task else "",
        intended_use=f"{family_use}\n\n{intended_use}".strip(),
        limitations=f"{family_limits}\n\n{limitations}".strip(),
        license=f"`{license}`",
        **fields,
    )
    card = ModelCard(content)
    card.save(Path(folder) / "README.md")
    return card


def save_for_hub(model, folder: str | Path, *, tokenizer=None, image_processor=None, **card_kwargs) -> Path:
    """Saves everything a hub repo of ``model`` holds: weights (safetensors), config, generation config
    (for models that generate), the modelling code (for trust_remote_code), the tokenizer or image
    processor, and the model card (``card_kwargs`` go to write_model_card)."""
    folder = Path(folder)
    model.save_pretrained(folder)  # also writes generation_config.json when model.can_generate()
    for preprocessor in (tokenizer, image_processor):
        if preprocessor is not None:
            preprocessor.save_pretrained(folder)
    write_model_card(folder, model=model, **card_kwargs)
    return folder


def push_folder(
    folder: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload model with hf_lecture",
):
    """Pushes a saved model folder to the hub repo ``repo_id`` (created if missing) in one commit.

    token: a write token (default: HF_TOKEN or the one saved by ``hf auth login``); private: create the
    repo private (an existing repo keeps its visibility). Hidden files and Trainer's checkpoint-*
    folders are left out. The card's placeholder model id becomes ``repo_id``. Returns the CommitInfo.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} does not exist or is not a folder")
    if not (folder / "config.json").is_file():
        missing = "config.json (save it with save_for_hub)"
    elif not any((folder / name).is_file() for name in WEIGHT_FILES):
        missing = f"weights ({' or '.join(WEIGHT_FILES)})"
    else:
        missing = None
    if missing:
        raise ValueError(f"folder {str(folder)!r} is not a saved model: it has no {missing}")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+|[\w.-]+", repo_id):
        raise ValueError(f"repo_id must be 'name' or 'user/name' (letters, digits, '-', '_', '.'), got {repo_id!r}")

    operations = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or any(fnmatch.fnmatch(part, p) for part in relative.parts for p in SKIPPED_PATTERNS):
            continue
        content = path
        if relative.as_posix() == "README.md":
            content = path.read_text(encoding="utf-8").replace(MODEL_ID_PLACEHOLDER, repo_id).encode("utf-8")
        operations.append(CommitOperationAdd(path_in_repo=relative.as_posix(), path_or_fileobj=content))

    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
    return api.create_commit(repo_id, operations=operations, commit_message=commit_message)


# ---------------------------------------------------------------- helpers


def _auto_class(model) -> str:
    """The Auto class that loads the model's class, from the auto_map save_pretrained writes."""
    auto_map = getattr(model.config, "auto_map", None) or {}
    for auto_class, reference in auto_map.items():
        if isinstance(reference, str) and reference.endswith(f".{type(model).__name__}"):
            return auto_class
    return "AutoModel"


def _template_text(name: str) -> str:
    if TEMPLATE_DIR is None or not (TEMPLATE_DIR / name).is_file():
        raise ValueError(f"model card template {name!r} not found (looked in hf_lecture/model_cards and model_cards/)")
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


def _family_parts(model_type: str) -> list[str]:
    """The family template's four parts: description, usage, intended use, limitations."""
    parts = re.split(r"^---(?:usage|intended use|limitations)---$", _template_text(f"{model_type}.md"), flags=re.M)
    if len(parts) != 4:
        raise ValueError(f"{model_type}.md must have ---usage---, ---intended use---, ---limitations--- lines")
    return [part.strip() for part in parts]


def _render_text(text: str, **fields) -> str:
    try:
        return Template(text).substitute(fields)
    except KeyError as missing:
        raise ValueError(f"model card template uses ${missing.args[0]}, which write_model_card does not fill") from None


def _render(name: str, **fields) -> str:
    return _render_text(_template_text(name), **fields)


def _results_table(metrics: dict[str, float], dataset: str | None, split: str | None) -> str:
    if not metrics:
        return "No evaluation results were recorded for this model."
    where = f"`{dataset}`" + (f" ({split} split)" if split else "")
    rows = "\n".join(f"| {name} | {value:.6g} |" for name, value in metrics.items())
    return f"Measured on {where}:\n\n| metric | value |\n|---|---|\n{rows}"
