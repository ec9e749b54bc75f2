"""The benchmark's workloads: each builds transformers' model and ours with the same weights.

A workload gives two zero-argument steps (theirs, ours), a check that their outputs agree (returns
the largest absolute difference and raises if it is too large), the model FLOPs of one step, and
the time-ratio target of issue 6.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch._inductor import config as inductor_config

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
    floor_step: Callable[[], object] | None = None  # transformers' matmuls alone (see gemm_floor)


def matmul_flops(model: torch.nn.Module, tokens: int) -> float:
    """2 x (weights of every Linear) x tokens: the dense part of a forward pass."""
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    return 2.0 * weights * tokens


def gemm_floor(model: torch.nn.Module, config, batch: int, length: int) -> Callable[[], None]:
    """A step that runs only the matmuls of a forward pass over ``batch`` sequences of ``length`` tokens,
    on torch's default path: x @ W^T for every Linear of ``model`` (no bias, activation, LayerNorm or
    softmax), and Q K^T and P V of each of the config's layers. Its time is a floor for any implementation
    of the same maths; only doing less work (masked positions, padding, [CLS]-only layers) goes under it."""
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    inputs = {m.in_features: torch.randn(batch * length, m.in_features) for m in linears}
    heads = config.num_attention_heads
    query = torch.randn(batch * heads, length, config.hidden_size // heads)  # (B * H, T, Dh)

    def step() -> None:
        for m in linears:
            inputs[m.in_features] @ m.weight.t()
        for _ in range(config.num_hidden_layers):
            torch.bmm(torch.bmm(query, query.transpose(1, 2)), query)

    return step


def training_step(model: torch.nn.Module, batch: dict, optimizer: torch.optim.Optimizer) -> Callable[[], torch.Tensor]:
    def step() -> torch.Tensor:
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def adamw(model: torch.nn.Module) -> torch.optim.Optimizer:
    """The same optimizer for both models: AdamW, fused (one kernel over all parameters). The default
    multi-tensor AdamW costs 5-7x more on CPU; a cost that both sides pay equally only hides the models."""
    return torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)


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

    theirs_step = training_step(theirs, batch, adamw(theirs))
    ours_step = training_step(ours, batch, adamw(ours))
    tokens = 16 * 64
    flops = 3 * (matmul_flops(theirs.model.encoder, tokens) + matmul_flops(theirs.model.decoder, tokens) + 2 * 256 * 8000 * tokens)
    return Workload(theirs_step, ours_step, check, flops, target=0.95)


# ------------------------------------------------------------------ BERT


def _bert_pair(model_class: str, dropout: float, **sizes):
    import transformers

    config = transformers.BertConfig(
        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout, attn_implementation="sdpa", **sizes
    )
    theirs = getattr(transformers, model_class)(config)
    return theirs, from_transformers(theirs)


def pretraining_batch(batch: int, length: int, vocab_size: int, generator: torch.Generator) -> dict:
    """A padded MLM + NSP batch: real lengths uniform in [32, length], 15% of the real non-special tokens masked.

    Each row is [CLS] A [SEP] B [SEP] [PAD]...; token ids 0-4 are the special tokens ([PAD] 0, [CLS] 101 and
    [SEP] 102 are BERT's, but any reserved ids do: only the shapes and the mask pattern matter here).
    """
    pad, cls, sep, mask_id = 0, 1, 2, 3
    lengths = torch.randint(32, length + 1, (batch,), generator=generator)  # (B,) real tokens per row
    positions = torch.arange(length)[None, :]  # (1, T)
    attention_mask = (positions < lengths[:, None]).long()  # (B, T)
    input_ids = torch.randint(5, vocab_size, (batch, length), generator=generator)
    split = lengths // 2  # sentence B starts after [SEP] at the middle
    input_ids[:, 0] = cls
    input_ids[torch.arange(batch), split] = sep
    input_ids[torch.arange(batch), lengths - 1] = sep
    token_type_ids = ((positions > split[:, None]) & (attention_mask == 1)).long()
    input_ids = input_ids.masked_fill(attention_mask == 0, pad)
    special = (input_ids == cls) | (input_ids == sep) | (attention_mask == 0)
    chosen = (torch.rand(batch, length, generator=generator) < 0.15) & ~special  # (B, T) the 15%
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    input_ids = input_ids.masked_fill(chosen, mask_id)  # (the 80/10/10 split changes nothing for speed)
    next_sentence_label = torch.randint(0, 2, (batch,), generator=generator)
    return dict(
        input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
        labels=labels, next_sentence_label=next_sentence_label,
    )  # fmt: skip


def bert_pretrain_step(quick: bool) -> Workload:
    """BertForPreTraining, vocab 30522, hidden 256, 4 layers, 4 heads, d_ff 1024: forward + backward + AdamW
    at batch 16 x 128 with real lengths uniform in [32, 128] and 15% of the real tokens masked."""
    sizes = dict(vocab_size=30522, hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024)
    theirs, ours = _bert_pair("BertForPreTraining", dropout=0.0, **sizes)  # no dropout: equal losses
    theirs.train(), ours.train()
    batch = pretraining_batch(16, 128, sizes["vocab_size"], torch.Generator().manual_seed(0))

    def check() -> float:
        """The same loss, as each model defines it. The MLM terms are equal; ours weighs each pair's NSP
        loss by its masked-token count (exact under gradient accumulation, see LectureBertForPreTraining),
        transformers' takes the plain mean over pairs, so theirs' NSP logits give ours' loss."""
        out = theirs(**batch)
        cross_entropy = torch.nn.functional.cross_entropy
        mlm = cross_entropy(out.prediction_logits.flatten(0, 1), batch["labels"].flatten())  # mean, -100 ignored
        nsp = cross_entropy(out.seq_relationship_logits, batch["next_sentence_label"], reduction="none")  # (B,)
        masked = (batch["labels"] != -100).sum(dim=1)  # (B,)
        expected = mlm + (nsp * masked).sum() / masked.sum()
        return assert_close(expected, ours(**batch).loss, 1e-4)

    theirs_step = training_step(theirs, batch, adamw(theirs))
    ours_step = training_step(ours, batch, adamw(ours))
    # transformers' model FLOPs for both: the trunk and the MLM head at every one of the B x T positions
    tokens = 16 * 128
    per_row = matmul_flops(theirs.bert.pooler, 16) + matmul_flops(theirs.cls.seq_relationship, 16)
    flops = 3 * (matmul_flops(theirs.bert.encoder, tokens) + matmul_flops(theirs.cls.predictions, tokens) + per_row)
    return Workload(theirs_step, ours_step, check, flops, target=0.25, notes={"memory_target": 0.5})


def bert_base_inference(quick: bool, compiled: bool = False) -> Workload:
    """BertModel at BERT-base size (768 hidden, 12 layers, 12 heads), batch 8 x 128, no padding, no grad."""
    theirs, ours = _bert_pair("BertModel", dropout=0.1)
    theirs.eval(), ours.eval()
    length = 64 if quick else 128
    input_ids = torch.randint(5, 30522, (8, length), generator=torch.Generator().manual_seed(0))
    inputs = dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids))
    ours_forward = torch.compile(ours, dynamic=False) if compiled else ours

    @torch.no_grad()
    def run(model):
        # compiled: inductor with frozen weights (constants folded, Linear weights prepacked for oneDNN / MKL)
        with inductor_config.patch(freezing=True) if model is ours_forward and compiled else nullcontext():
            return model(**inputs).last_hidden_state

    def check() -> float:
        return assert_close(run(theirs), run(ours_forward), 1e-4)

    flops = matmul_flops(theirs.encoder, 8 * length) + matmul_flops(theirs.pooler, 8)  # the pooler: one row each
    return Workload(
        lambda: run(theirs), lambda: run(ours_forward), check, flops, target=0.6 if compiled else 1.0,
        floor_step=gemm_floor(theirs.encoder, theirs.config, 8, length),
    )  # fmt: skip


# ------------------------------------------------------------------ ViT


def _vit_pair():
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(
        image_size=32, patch_size=4, num_channels=3, hidden_size=192, num_hidden_layers=6, num_attention_heads=3,
        intermediate_size=768, num_labels=10, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        attn_implementation="sdpa",
    )  # fmt: skip
    theirs = ViTForImageClassification(config)
    return theirs, from_transformers(theirs)


def vit_train_step(quick: bool) -> Workload:
    """ViT-tiny-ish on 32 x 32 images (patch 4: 64 patches + [CLS]), batch 64: forward + backward + AdamW."""
    theirs, ours = _vit_pair()
    theirs.train(), ours.train()
    generator = torch.Generator().manual_seed(0)
    batch = {"pixel_values": torch.randn(64, 3, 32, 32, generator=generator), "labels": torch.randint(0, 10, (64,))}

    def check() -> float:
        return assert_close(theirs(**batch).loss, ours(**batch).loss, 1e-4)

    theirs_step = training_step(theirs, batch, adamw(theirs))
    ours_step = training_step(ours, batch, adamw(ours))
    return Workload(theirs_step, ours_step, check, 3 * _vit_flops(theirs, 64), target=0.95)


def vit_inference(quick: bool) -> Workload:
    """The same ViT classifying a batch of 64 images, no grad."""
    theirs, ours = _vit_pair()
    theirs.eval(), ours.eval()
    pixel_values = torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))

    @torch.no_grad()
    def run(model):
        return model(pixel_values=pixel_values).logits

    def check() -> float:
        return assert_close(run(theirs), run(ours), 1e-4)

    floor = gemm_floor(theirs.vit.layers, theirs.config, 64, 65)  # 64 images of 64 patches + [CLS]
    return Workload(lambda: run(theirs), lambda: run(ours), check, _vit_flops(theirs, 64), 0.95, floor_step=floor)


def _vit_flops(model, batch: int) -> float:
    """Encoder Linears on 65 tokens per image, the patch projection on 64 (a Conv2d in transformers)."""
    config = model.config
    patches = (config.image_size // config.patch_size) ** 2
    patch_weights = config.num_channels * config.patch_size**2 * config.hidden_size
    return matmul_flops(model.vit.layers, batch * (patches + 1)) + 2.0 * patch_weights * batch * patches


WORKLOADS: dict[str, Callable[[bool], Workload]] = {
    "bert_pretrain_step": bert_pretrain_step,
    "bert_base_inference": bert_base_inference,
    "bert_base_inference_compiled": lambda quick: bert_base_inference(quick, compiled=True),
    "vit_train_step": vit_train_step,
    "vit_inference": vit_inference,
    "seq2seq_beam_search": seq2seq_beam_search,
    "seq2seq_train_step": seq2seq_train_step,
}
