"""Smoke tests of the benchmark runner (benchmarks/bench.py): the rows it reports, not the timings."""

import argparse
import json
import os
import subprocess
import sys
import time

import pytest
import torch

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCHMARKS)

import bench  # noqa: E402
import workloads  # noqa: E402

ROW_FIELDS = {
    "workload", "theirs_s", "ours_s", "ratio", "ratio_min", "ratio_max", "target", "max_abs_diff", "mfu_ours",
    "mfu_ours_vs_onednn", "met",
}  # fmt: skip


def tiny_workload(quick: bool) -> workloads.Workload:
    """Two Linear layers with the same weights: a workload small enough to time in milliseconds."""
    theirs = torch.nn.Linear(8, 8)
    ours = torch.nn.Linear(8, 8)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(4, 8)

    def check() -> float:
        return workloads.assert_close(theirs(x), ours(x), 1e-6)

    return workloads.Workload(lambda: theirs(x), lambda: ours(x), check, workloads.matmul_flops(theirs, 4), 0.9)


def test_pretraining_batch_follows_the_recipe():
    batch = workloads.pretraining_batch(16, 128, 30522, torch.Generator().manual_seed(0))
    lengths = batch["attention_mask"].sum(dim=1)
    assert batch["input_ids"].shape == (16, 128) and 32 <= lengths.min() and lengths.max() <= 128
    assert ((batch["labels"] != -100) <= (batch["attention_mask"] == 1)).all()  # only real tokens are masked
    masked = (batch["labels"] != -100).sum() / (lengths.sum() - 3 * 16)
    assert 0.10 < masked < 0.20  # about 15% of the real non-special tokens
    assert set(batch["next_sentence_label"].tolist()) <= {0, 1}


def test_run_reports_one_row_per_workload(monkeypatch, capsys):
    monkeypatch.setattr(bench, "WORKLOADS", {"tiny": tiny_workload})
    monkeypatch.setattr(bench, "matmul_rates", lambda: {"fp32": 100.0, "bf16": 200.0, "onednn_fp32": 150.0})
    args = argparse.Namespace(quick=True, bf16=False, workloads=["tiny"], no_memory=True)
    (row,) = bench.run(args)
    assert ROW_FIELDS <= set(row)
    assert row["workload"] == "tiny" and row["target"] == 0.9 and row["max_abs_diff"] == 0.0
    assert row["ratio_min"] <= row["ratio"] <= row["ratio_max"]
    assert row["met"] == (row["ratio"] <= 0.92)
    assert row["mfu_ours"] == pytest.approx(2 * 64 * 4 / row["ours_s"] / 100e9)
    printed = capsys.readouterr().out
    assert "| tiny |" in printed and "ratio" in printed


def test_alternating_timing_gives_pairs():
    calls = []
    timing = bench.time_side_by_side(lambda: calls.append("t"), lambda: calls.append("o"), 4, 1, bench.nullcontext)
    assert len(timing.theirs) == len(timing.ours) == len(timing.ratios) == 4
    assert calls[:2] == ["t", "o"] and calls[2:6] == ["t", "o", "o", "t"]  # the order alternates


def test_timing_runs_more_pairs_until_the_time_budget_is_spent():
    def step():
        time.sleep(0.002)

    timing = bench.time_side_by_side(step, step, 3, 0, bench.nullcontext, seconds=0.1, max_pairs=50)
    assert 10 < len(timing.ratios) <= 50  # ~25 pairs of 4 ms fit in 0.1 s
    assert len(bench.time_side_by_side(step, step, 3, 0, bench.nullcontext).ratios) == 3


def test_gemm_floor_is_timed_with_each_pair_and_reported(monkeypatch):
    calls = []
    timing = bench.time_side_by_side(
        lambda: calls.append("t"), lambda: calls.append("o"), 2, 0, bench.nullcontext, floor=lambda: calls.append("f")
    )
    assert calls == ["t", "f", "o", "o", "f", "t"] and len(timing.floor_ratios) == 2

    def with_floor(quick):
        built = tiny_workload(quick)
        sizes = argparse.Namespace(num_attention_heads=2, hidden_size=8, num_hidden_layers=1)
        built.floor_step = workloads.gemm_floor(torch.nn.Sequential(torch.nn.Linear(8, 8)), sizes, 2, 3)
        return built

    monkeypatch.setattr(bench, "WORKLOADS", {"tiny": with_floor})
    monkeypatch.setattr(bench, "matmul_rates", lambda: {"fp32": 100.0, "bf16": 200.0, "onednn_fp32": 150.0})
    (row,) = bench.run(argparse.Namespace(quick=True, bf16=False, workloads=["tiny"], no_memory=True))
    assert row["floor_ratio"] > 0


@pytest.mark.slow
def test_command_line_quick_run_writes_json(tmp_path):
    out = tmp_path / "rows.json"
    command = [sys.executable, os.path.join(BENCHMARKS, "bench.py"), "--quick", "--no-memory", "--threads", "1"]
    command += ["--workloads", "vit_inference", "--json", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(out.read_text())
    assert ROW_FIELDS <= set(row) and row["workload"] == "vit_inference"
    assert row["max_abs_diff"] < 1e-4 and row["theirs_s"] > 0 and row["ours_s"] > 0
