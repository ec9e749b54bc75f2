"""Recipe: train the encoder-decoder Transformer on translation pairs and evaluate greedy and beam search.

Default data: English number words -> Korean number words ("six hundred and sixty-three" -> "육백육십삼"),
with validation and test numbers never seen in training. Or any pairs file (csv / tsv / json / jsonl,
or a ``datasets`` folder saved with ``save_to_disk``) with a source and a target column.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from datasets import DatasetDict
from transformers import AutoTokenizer, Seq2SeqTrainer

from ..data.numbers import number_translation_dataset
from ..data.translation import Seq2SeqCollator, tokenize_pairs, train_word_char_tokenizer, translation_pairs_from_file
from ..hub import save_for_hub
from ..metrics import load_metric
from ..models.configuration_transformer import LectureTransformerConfig
from ..models.modeling_transformer import LectureTransformerForConditionalGeneration
from .common import checkpoint_to_resume, save_every, save_training_log, training_arguments


def load_pairs(data_file: str | Path | None, source_column: str, target_column: str, seed: int) -> DatasetDict:
    """train / validation / test splits of ``source`` / ``target`` pairs."""
    if data_file is None:
        return number_translation_dataset(seed=seed)
    pairs = translation_pairs_from_file(data_file, source_column=source_column, target_column=target_column)
    if len(pairs) < 10:
        raise ValueError(f"{data_file}: needs at least 10 pairs to hold some out for testing, has {len(pairs)}")
    held_out = pairs.train_test_split(test_size=0.1, seed=seed)
    validation = held_out["train"].train_test_split(test_size=0.05, seed=seed)
    return DatasetDict(train=validation["train"], validation=validation["test"], test=held_out["test"])


@torch.no_grad()
def translate_all(model, tokenizer, sources: list[str], num_beams: int, batch_size: int = 128) -> list[str]:
    """Greedy search (num_beams=1) or beam search over a list of source texts."""
    model.eval()
    outputs = []
    for start in range(0, len(sources), batch_size):
        batch = tokenizer(sources[start : start + batch_size], return_tensors="pt", padding=True).to(model.device)
        generated = model.generate(**batch, num_beams=num_beams, max_new_tokens=64)
        outputs += [text.strip() for text in tokenizer.batch_decode(generated, skip_special_tokens=True)]
    return outputs


def score(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Exact match (0-1), BLEU on characters and chrF (0-100): Korean numbers have no spaces to split on."""
    return {
        "exact_match": load_metric("exact_match").compute(predictions=predictions, references=references)["exact_match"],
        "bleu": load_metric("bleu").compute(predictions=predictions, references=references, tokenize="char")["score"],
        "chrf": load_metric("chrf").compute(predictions=predictions, references=references)["score"],
    }


def train_translation(
    output_dir: str | Path,
    *,
    data_file: str | Path | None = None,
    source_column: str = "source",
    target_column: str = "target",
    d_model: int = 128,
    layers: int = 3,
    heads: int = 4,
    ffn_dim: int = 512,
    dropout: float = 0.1,
    label_smoothing: float = 0.1,
    epochs: float = 12,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    num_beams: int = 4,
    seed: int = 0,
    resume_from_checkpoint: str | bool | None = None,
    quick: bool = False,
    save_steps: int | None = None,
) -> dict:
    """Train, evaluate on the held-out test split with greedy and beam search, save in hub format.

    Returns the measured figures: ``{"beam": {exact_match, bleu, chrf}, "greedy": {...}, ...}``.
    ``quick`` trains a small model on 2,000 pairs for 3 epochs (for tests and ``hf-lecture demo --quick``).
    ``save_steps``: a checkpoint every that many optimizer steps instead of one per epoch (None).
    """
    output_dir = Path(output_dir)
    torch.manual_seed(seed)
    pairs = load_pairs(data_file, source_column, target_column, seed)
    if quick:  # a smoke run: a small model on 2,000 pairs for 3 epochs (it does not learn the task)
        d_model, layers, ffn_dim, epochs = 64, 2, 256, min(epochs, 3)
        pairs["train"] = pairs["train"].shuffle(seed=seed).select(range(min(2000, len(pairs["train"]))))
    tokenizer_dir = output_dir / "tokenizer"
    resume = checkpoint_to_resume(output_dir / "checkpoints", resume_from_checkpoint)
    if resume and tokenizer_dir.exists():
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)  # the vocabulary the checkpoint was trained with
    else:
        tokenizer = train_word_char_tokenizer(list(pairs["train"]["source"]) + list(pairs["train"]["target"]))
        tokenizer.save_pretrained(tokenizer_dir)
    tokenized = tokenize_pairs(pairs, tokenizer, max_length=64)

    config = LectureTransformerConfig(
        vocab_size=len(tokenizer),
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn_dim,
        decoder_ffn_dim=ffn_dim,
        dropout=dropout,
        label_smoothing=label_smoothing,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.bos_token_id,
    )
    model = LectureTransformerForConditionalGeneration(config)
    model.generation_config.num_beams = num_beams
    model.generation_config.max_new_tokens = 64

    args = training_arguments(
        output_dir / "checkpoints", epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed,
        seq2seq=True, eval_strategy="epoch", remove_unused_columns=True, **save_every(save_steps),
    )  # fmt: skip
    columns = ["input_ids", "attention_mask", "labels"]
    trainer = Seq2SeqTrainer(
        model=model,
        args=args,
        train_dataset=tokenized["train"].select_columns(columns),
        eval_dataset=tokenized["validation"].select_columns(columns),
        data_collator=Seq2SeqCollator(pad_token_id=tokenizer.pad_token_id),
    )
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.perf_counter() - start

    test = pairs["test"]
    results = {"train_seconds": round(train_seconds, 1), "test_examples": len(test), "parameters": model.num_parameters()}
    examples = {}
    for name, beams in (("greedy", 1), ("beam", num_beams)):
        sources, references = list(test["source"]), list(test["target"])
        predictions = translate_all(model, tokenizer, sources, beams)
        results[name] = score(predictions, references)
        examples[name] = list(zip(sources[:5], predictions[:5], references[:5]))
    results["examples"] = examples["beam"]

    save_training_log(trainer, output_dir)
    save_for_hub(
        model,
        output_dir / "model",
        tokenizer=tokenizer,
        datasets=["num2words-en-ko" if data_file is None else Path(data_file).name],
        metrics={f"beam_{k}": v for k, v in results["beam"].items()} | {f"greedy_{k}": v for k, v in results["greedy"].items()},
        trained_on=(
            "English number words paired with Korean number words (num2words), numbers 0-9999; the test "
            "numbers were never seen in training." if data_file is None else f"translation pairs from {Path(data_file).name}"
        ),
        language=["en", "ko"] if data_file is None else None,
        eval_split="test",
    )
    results["model_dir"] = str(output_dir / "model")
    return results
