"""A real training run: the Transformer learns to reverse sequences, a task that needs attention."""

import pytest
import torch
from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments

from hf_lecture import LectureTransformerConfig, LectureTransformerForConditionalGeneration
from hf_lecture.data.translation import Seq2SeqCollator, reversal_dataset

PAD, START, EOS, VOCAB = 0, 1, 2, 13  # ids 3..12 are the symbols
collate = Seq2SeqCollator(pad_token_id=PAD)


@pytest.mark.slow
def test_learns_to_reverse_sequences_it_never_saw(tmp_path):
    train = reversal_dataset(4000, VOCAB, min_len=3, max_len=8, seed=0)
    seen = {tuple(ids) for ids in train["input_ids"]}
    held_out = [row for row in reversal_dataset(300, VOCAB, min_len=3, max_len=8, seed=1) if tuple(row["input_ids"]) not in seen][:200]
    config = LectureTransformerConfig(
        vocab_size=VOCAB, d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128, dropout=0.0,
        max_position_embeddings=32, pad_token_id=PAD, bos_token_id=START, eos_token_id=EOS, decoder_start_token_id=START,
    )  # fmt: skip
    model = LectureTransformerForConditionalGeneration(config)
    args = Seq2SeqTrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=64, num_train_epochs=6, learning_rate=1e-3,
        warmup_steps=30, lr_scheduler_type="cosine", save_strategy="no", report_to=[], disable_tqdm=True,
        seed=0, use_cpu=True, logging_steps=50,
    )  # fmt: skip
    trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=train, data_collator=collate)
    trainer.train()

    model.eval()
    batch = collate(held_out)
    generated = model.generate(batch["input_ids"], attention_mask=batch["attention_mask"], num_beams=4, max_new_tokens=12)
    correct = 0
    for row, output in zip(held_out, generated.tolist()):
        output = output[1:]  # drop the start token
        correct += output[: output.index(EOS) + 1] == row["labels"] if EOS in output else False
    exact_match = correct / len(held_out)
    print(f"reversal exact match with beam search: {exact_match:.3f}")
    assert exact_match >= 0.95
