"""The benchmark's workloads: each builds transformers' model and ours with the same weights.

A workload gives two zero-argument steps (theirs, ours), a check that their outputs agree (returns
the largest absolute difference and raises if it is too large), the model FLOPs of one step, and
the time-ratio target of issue 6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from hf_lecture.convert import from_transformers


@dataclass
class Workload:
    theirs_step: Callable[[], object]
    ours_step: Callable[[], object]
    check: Callable[[], float]
    flops: float  # model FLOPs of one step (2 per multiply-add of the matmuls)
    target: float  # ours / transformers time ratio to meet
    pairs: int = 7
    notes: dict = field(default_factory=dict)


def matmul_flops(model: torch.nn.Module, tokens: int) -> float:
    """2 x (weights of every Linear) x tokens: the dense part of a forward pass."""
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    return 2.0 * weights * tokens


def training_step(model: torch.nn.Module, batch: dict, optimizer: torch.optim.Optimizer) -> Callable[[], torch.Tensor]:
    def step() -> torch.Tensor:
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def assert_close(a: torch.Tensor, b: torch.Tensor, tolerance: float) -> float:
    difference = (a.float() - b.float()).abs().max().item()
    if not difference <= tolerance:
        raise AssertionError(f"outputs differ by {difference:.2e} (tolerance {tolerance:.0e})")
    return difference


# ------------------------------------------------------------------ encoder-decoder (Marian)


def _marian_pair(dropout: float = 0.1):
    from transformers import MarianConfig, MarianMTModel

    config = MarianConfig(
        vocab_size=8000, d_model=256, encoder_layers=3, decoder_layers=3, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=1024, decoder_ffn_dim=1024, max_position_embeddings=256,
        pad_token_id=0, decoder_start_token_id=0, eos_token_id=1, dropout=dropout,
        attn_implementation="sdpa",
    )  # fmt: skip
    theirs = MarianMTModel(config)
    return theirs, from_transformers(theirs)


def seq2seq_beam_search(quick: bool) -> Workload:
    """Batch 8 sources of 32 tokens, 4 beams, exactly 32 new tokens, with the KV cache."""
    theirs, ours = _marian_pair()
    theirs.eval(), ours.eval()
    source = torch.randint(2, 8000, (8, 32))
    mask = torch.ones_like(source)
    mask[1, 24:] = 0  # some padding, as in real batches
    settings = dict(attention_mask=mask, num_beams=4, max_new_tokens=32, min_new_tokens=32, use_cache=True)

    @torch.no_grad()
    def run(model):
        return model.generate(source, **settings)

    def check() -> float:
        if not torch.equal(run(theirs), run(ours)):
            raise AssertionError("beam search outputs differ")
        return 0.0

    steps = 8 * 4 * 32  # decoder tokens
    flops = matmul_flops(theirs.model.encoder, 8 * 32) + matmul_flops(theirs.model.decoder, steps) + 2 * 256 * 8000 * steps
    return Workload(lambda: run(theirs), lambda: run(ours), check, flops, target=0.9)


def seq2seq_train_step(quick: bool) -> Workload:
    """Forward + backward + AdamW at batch 16, 64 source and 64 target tokens."""
    theirs, ours = _marian_pair(dropout=0.0)  # no dropout, so both compute the same loss
    theirs.train(), ours.train()
    batch = {
        "input_ids": torch.randint(2, 8000, (16, 64)),
        "attention_mask": torch.ones(16, 64, dtype=torch.long),
        "labels": torch.randint(2, 8000, (16, 64)),
    }

    def check() -> float:
        return assert_close(theirs(**batch).loss, ours(**batch).loss, 1e-4)

    theirs_step = training_step(theirs, batch, torch.optim.AdamW(theirs.parameters(), lr=1e-5))
    ours_step = training_step(ours, batch, torch.optim.AdamW(ours.parameters(), lr=1e-5))
    tokens = 16 * 64
    flops = 3 * (matmul_flops(theirs.model.encoder, tokens) + matmul_flops(theirs.model.decoder, tokens) + 2 * 256 * 8000 * tokens)
    return Workload(theirs_step, ours_step, check, flops, target=0.95)


WORKLOADS: dict[str, Callable[[bool], Workload]] = {
    "seq2seq_beam_search": seq2seq_beam_search,
    "seq2seq_train_step": seq2seq_train_step,
}
