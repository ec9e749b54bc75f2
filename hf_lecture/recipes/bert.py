"""Recipes: pre-train BERT with MLM + NSP, then fine-tune its [CLS] head on a sentence task.

Default data: the Python reference prose in the standard library (``pydoc_data.topics``), one
document per topic; or the user's text files, or a ``datasets`` folder with a "text" column.
The default fine-tuning task is the lecture's word-order task: is this sentence as written, or
are its words shuffled? Mean pooling without positions cannot tell ("I ate pizza" = "pizza ate I").
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
from datasets import ClassLabel, Dataset, DatasetDict, load_from_disk
from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer

from ..data.bert_data import BertPretrainingCollator, BertPretrainingDataset, SetEpochCallback, split_documents
from ..data.corpus import documents_from_dataset, documents_from_text_files, python_reference_documents
from ..data.tokenizer import train_wordpiece_tokenizer
from ..data.word_order import WORD_ORDER_LABELS, word_order_dataset, word_order_splits
from ..hub import save_for_hub
from ..metrics import load_metric
from ..models.configuration_bert import LectureBertConfig
from ..models.modeling_bert import LectureBertForPreTraining, LectureBertForSequenceClassification
from .common import checkpoint_to_resume, save_every, save_training_log, training_arguments


def load_documents(data_files: list[str] | None = None, dataset_dir: str | None = None) -> list[list[str]]:
    """Documents as lists of sentences: the built-in corpus, text files, or a saved ``datasets`` folder."""
    if data_files and dataset_dir:
        raise ValueError("give data_files or dataset_dir, not both")
    if data_files:
        return documents_from_text_files(data_files)
    if dataset_dir:
        if not Path(dataset_dir).is_dir():
            raise ValueError(f"{dataset_dir}: not a folder saved with datasets' save_to_disk")
        dataset = load_from_disk(dataset_dir)
        if isinstance(dataset, DatasetDict):
            dataset = dataset["train"] if "train" in dataset else next(iter(dataset.values()))
        return documents_from_dataset(dataset)
    return python_reference_documents()


@torch.no_grad()
def pretraining_losses(model, dataset: BertPretrainingDataset, collator, batch_size: int = 64) -> dict[str, float]:
    """Mean MLM loss per masked token and mean NSP loss per pair, and NSP accuracy, on a fixed set."""
    model.eval()
    mlm_sum = nsp_sum = masked = pairs = correct = 0.0
    for start in range(0, len(dataset), batch_size):
        batch = collator([dataset.example(i, epoch=0) for i in range(start, min(start + batch_size, len(dataset)))])
        batch = {k: v.to(model.device) for k, v in batch.items()}
        labels, next_sentence_label = batch.pop("labels"), batch.pop("next_sentence_label")
        out = model(**batch)
        vocab = out.prediction_logits.shape[-1]
        mlm_sum += torch.nn.functional.cross_entropy(out.prediction_logits.reshape(-1, vocab), labels.reshape(-1), reduction="sum").item()
        nsp_sum += torch.nn.functional.cross_entropy(out.seq_relationship_logits, next_sentence_label, reduction="sum").item()
        correct += (out.seq_relationship_logits.argmax(-1) == next_sentence_label).sum().item()
        masked += (labels != -100).sum().item()
        pairs += len(next_sentence_label)
    return {"mlm_loss": mlm_sum / max(masked, 1), "nsp_loss": nsp_sum / pairs, "nsp_accuracy": correct / pairs}


def pretrain_bert(
    output_dir: str | Path,
    *,
    data_files: list[str] | None = None,
    dataset_dir: str | None = None,
    vocab_size: int = 8000,
    hidden_size: int = 128,
    layers: int = 2,
    heads: int = 2,
    intermediate_size: int = 512,
    max_length: int = 128,
    dropout: float = 0.1,
    epochs: float = 1.0,
    batch_size: int = 32,
    learning_rate: float = 5e-4,
    seed: int = 0,
    resume_from_checkpoint: str | bool | None = None,
    quick: bool = False,
    save_steps: int | None = None,
) -> dict:
    """Train a WordPiece tokenizer and pre-train ``LectureBertForPreTraining`` (MLM + NSP) with Trainer.

    Returns the MLM / NSP losses on held-out documents before and after training (and NSP accuracy),
    the training time, and where the model went (``output_dir/model``, with its tokenizer).
    ``save_steps``: a checkpoint every that many optimizer steps instead of one per epoch (None).
    """
    output_dir = Path(output_dir)
    torch.manual_seed(seed)
    documents = load_documents(data_files, dataset_dir)
    train_documents, eval_documents = split_documents(documents, eval_fraction=0.1, seed=seed)
    if quick:
        vocab_size, max_length, epochs = min(vocab_size, 2000), min(max_length, 64), min(epochs, 1.0)
    args = training_arguments(
        output_dir / "checkpoints", epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
        remove_unused_columns=False, **save_every(save_steps),
    )  # fmt: skip
    tokenizer_dir = output_dir / "tokenizer"
    resume = checkpoint_to_resume(output_dir / "checkpoints", resume_from_checkpoint)
    # WordPiece training can break ties differently from run to run: a resumed run reads the saved
    # tokenizer, and with several processes (accelerate launch) the main one trains it, the others read it.
    with args.main_process_first(desc="training the WordPiece tokenizer"):
        if (resume or args.process_index > 0) and tokenizer_dir.exists():
            tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        else:
            tokenizer = train_wordpiece_tokenizer(
                (sentence for document in train_documents for sentence in document),
                vocab_size=vocab_size,
                model_max_length=max_length,
            )
            tokenizer.save_pretrained(tokenizer_dir)
    train_set = BertPretrainingDataset(tokenizer, train_documents, max_length=max_length, seed=seed)
    eval_set = BertPretrainingDataset(tokenizer, eval_documents, max_length=max_length, seed=seed + 1)
    if quick:
        train_set.anchors = train_set.anchors[:1200]
    collator = BertPretrainingCollator(pad_token_id=tokenizer.pad_token_id)

    config = LectureBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_length,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LectureBertForPreTraining(config)
    before = pretraining_losses(model, eval_set, collator)

    # The callback tells the dataset each epoch, also the one a resumed run starts in: masks and pairs
    # are drawn from (seed, epoch, index), so a resumed run sees exactly the batches of an uninterrupted one.
    trainer = Trainer(
        model=model, args=args, train_dataset=train_set, data_collator=collator, callbacks=[SetEpochCallback(train_set)]
    )
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - start
    after = pretraining_losses(model, eval_set, collator)

    results = {
        "before": before,
        "after": after,
        "train_seconds": round(seconds, 1),
        "train_pairs": len(train_set),
        "eval_pairs": len(eval_set),
        "parameters": model.num_parameters(),
        "world_size": args.world_size,  # processes that trained together (accelerate launch)
        "model_dir": str(output_dir / "model"),
    }
    if not trainer.is_world_process_zero():
        return results  # one process writes the files
    save_training_log(trainer, output_dir)
    save_for_hub(
        model,
        output_dir / "model",
        tokenizer=tokenizer,
        datasets=["python-reference-prose" if not (data_files or dataset_dir) else "user-text"],
        metrics={"mlm_loss": after["mlm_loss"], "nsp_loss": after["nsp_loss"], "nsp_accuracy": after["nsp_accuracy"]},
        trained_on=(
            "Masked language modelling and next sentence prediction on the Python reference prose "
            "(the standard library's pydoc_data.topics), one document per topic."
            if not (data_files or dataset_dir) else "MLM + NSP on the user's text."
        ),
        language="en",
        eval_split="held-out documents",
    )
    return results


def load_classification_data(
    data_file: str | None, text_column: str, text_pair_column: str | None, label_column: str, seed: int
) -> tuple[DatasetDict, list[str]]:
    """train / test splits with ``text`` (and ``text_pair``) and integer ``label``; and the label names."""
    if data_file is None:
        splits = word_order_splits(word_order_dataset(python_reference_documents(), seed=seed), seed=seed)
        return splits, list(WORD_ORDER_LABELS)
    path = Path(data_file)
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    kinds = {".csv": "csv", ".json": "json", ".jsonl": "json"}
    if path.suffix not in kinds:
        raise ValueError(f"{path}: expected a .csv, .json or .jsonl file")
    try:
        dataset = Dataset.from_csv(str(path)) if kinds[path.suffix] == "csv" else Dataset.from_json(str(path))
    except Exception as error:  # the reader's own message says what is malformed
        raise ValueError(f"{path}: could not be read as {kinds[path.suffix]} ({type(error).__name__}: {error})") from None
    for column in (text_column, label_column) + ((text_pair_column,) if text_pair_column else ()):
        if column not in dataset.column_names:
            raise ValueError(f"{path}: no column {column!r} (columns: {dataset.column_names})")
    if len(dataset) < 4:
        raise ValueError(f"{path}: needs at least 4 rows to hold some out for testing, has {len(dataset)}")
    renames = {text_column: "text", label_column: "label"} | ({text_pair_column: "text_pair"} if text_pair_column else {})
    dataset = dataset.rename_columns({k: v for k, v in renames.items() if k != v})
    names = sorted({str(label) for label in dataset["label"]})
    dataset = dataset.map(lambda row: {"label": names.index(str(row["label"]))})
    dataset = dataset.cast_column("label", ClassLabel(names=names))
    return dataset.train_test_split(test_size=0.2, seed=seed, stratify_by_column="label"), names


def finetune(
    output_dir: str | Path,
    *,
    model_dir: str | Path,
    data_file: str | None = None,
    text_column: str = "text",
    text_pair_column: str | None = None,
    label_column: str = "label",
    pooling: str = "cls",
    position_embedding_type: str | None = None,
    epochs: float = 3.0,
    batch_size: int = 32,
    learning_rate: float = 5e-5,
    seed: int = 0,
    resume_from_checkpoint: str | bool | None = None,
    quick: bool = False,
) -> dict:
    """Fine-tune a pre-trained lecture_bert folder as a sentence classifier on the [CLS] token.

    ``pooling="mean"`` averages the non-padding tokens instead, and ``position_embedding_type="none"``
    drops the pre-trained position embeddings: together, the baseline the lecture rejects.
    Returns held-out accuracy and macro F1, and where the model went (``output_dir/model``).
    """
    output_dir = Path(output_dir)
    if not (Path(model_dir) / "config.json").exists():
        raise ValueError(f"{model_dir}: not a saved model (no config.json); pre-train one with `hf-lecture pretrain-bert`")
    torch.manual_seed(seed)
    splits, names = load_classification_data(data_file, text_column, text_pair_column, label_column, seed)
    if quick:
        splits = DatasetDict(train=splits["train"].select(range(min(800, len(splits["train"])))), test=splits["test"].select(range(min(400, len(splits["test"])))))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    def tokenize(batch):
        pair = batch["text_pair"] if "text_pair" in batch else None
        return tokenizer(batch["text"], pair, truncation=True, max_length=tokenizer.model_max_length)

    tokenized = splits.map(tokenize, batched=True)
    model = LectureBertForSequenceClassification.from_pretrained(
        model_dir,
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={name: i for i, name in enumerate(names)},
        pooling=pooling,
        **({"position_embedding_type": position_embedding_type} if position_embedding_type else {}),
    )

    accuracy, f1 = load_metric("accuracy"), load_metric("f1")

    def compute_metrics(prediction) -> dict[str, float]:
        predicted = np.argmax(prediction.predictions, axis=-1)
        return {
            "accuracy": accuracy.compute(predictions=predicted, references=prediction.label_ids)["accuracy"],
            "f1": f1.compute(predictions=predicted, references=prediction.label_ids, average="macro")["f1"],
        }

    args = training_arguments(
        output_dir / "checkpoints", epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
        eval_strategy="epoch",
    )  # fmt: skip
    columns = [c for c in ("input_ids", "token_type_ids", "attention_mask", "label") if c in tokenized["train"].column_names]
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=tokenized["train"].select_columns(columns),
        eval_dataset=tokenized["test"].select_columns(columns),
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=compute_metrics,
    )
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=checkpoint_to_resume(args.output_dir, resume_from_checkpoint))
    seconds = time.perf_counter() - start
    evaluation = trainer.evaluate()
    results = {
        "accuracy": evaluation["eval_accuracy"],
        "f1": evaluation["eval_f1"],
        "pooling": pooling,
        "train_seconds": round(seconds, 1),
        "train_examples": len(splits["train"]),
        "test_examples": len(splits["test"]),
    }
    if not math.isfinite(results["accuracy"]):
        raise RuntimeError("evaluation gave no accuracy")
    save_training_log(trainer, output_dir)
    save_for_hub(
        model,
        output_dir / "model",
        tokenizer=tokenizer,
        datasets=["word-order-python-reference" if data_file is None else Path(data_file).name],
        metrics={"accuracy": results["accuracy"], "f1": results["f1"]},
        trained_on=(
            "The word-order task: sentences of the Python reference prose and the same words shuffled "
            "(label 'original' or 'shuffled'); a sentence and its shuffle are always in the same split."
            if data_file is None else f"sentence classification data from {Path(data_file).name}"
        ),
        language="en",
        eval_split="test",
    )
    results["model_dir"] = str(output_dir / "model")
    return results
