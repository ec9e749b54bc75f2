"""hf_lecture against transformers' own models: same config, same weights, one process, side by side.

    .venv/bin/python benchmarks/bench.py            # full run (under 10 minutes on 2 cores)
    .venv/bin/python benchmarks/bench.py --quick    # under 2 minutes
    .venv/bin/python benchmarks/bench.py --bf16     # the same table under torch.autocast(bfloat16)
    .venv/bin/python benchmarks/bench.py --threads 1  # steadier ratios on a machine shared with other jobs

For each workload both models are built from one set of weights (hf_lecture.convert), their outputs
are checked to agree, and the two steps are timed alternately after warm-up. The table shows the
median time of each, the ratio ours / transformers (median of the per-pair ratios) with its spread
(min..max over pairs), the model-FLOPs utilisation against this machine's measured matmul rates,
and the peak memory of one step of each implementation, each in its own subprocess (peak RSS over
that process's baseline after the model is built).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workloads import WORKLOADS, Workload  # noqa: E402


# ------------------------------------------------------------------------------------------ machine


def matmul_rates(size: int = 1024, repeats: int = 10, rounds: int = 3) -> dict[str, float]:
    """GFLOP/s of one square matmul on three paths: torch's default fp32, oneDNN fp32, bf16.

    The best of a few rounds: a virtual machine's clock and neighbours make single rounds vary by 2x."""
    a, b = torch.randn(size, size), torch.randn(size, size)

    def rate(fn, *args) -> float:
        fn(*args)
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(repeats):
                fn(*args)
            best = min(best, time.perf_counter() - start)
        return 2 * size**3 * repeats / best / 1e9

    rates = {"fp32": rate(torch.mm, a, b), "bf16": rate(torch.mm, a.bfloat16(), b.bfloat16())}
    try:
        rates["onednn_fp32"] = rate(torch._C._nn.mkldnn_linear, a.to_mkldnn(), b.to_mkldnn())
    except (RuntimeError, AttributeError):
        rates["onednn_fp32"] = float("nan")
    return rates


# ------------------------------------------------------------------------------------------ timing


@dataclass
class Timing:
    theirs: list[float]
    ours: list[float]
    floor: list[float] = field(default_factory=list)  # the GEMMs alone, when the workload gives them

    @property
    def ratios(self) -> list[float]:
        return [o / t for o, t in zip(self.ours, self.theirs)]

    @property
    def floor_ratios(self) -> list[float]:
        return [f / t for f, t in zip(self.floor, self.theirs)]


def time_side_by_side(
    theirs: Callable,
    ours: Callable,
    pairs: int,
    warmup: int,
    autocast,
    floor: Callable | None = None,
    seconds: float = 0.0,
    max_pairs: int = 61,
) -> Timing:
    """Alternate the steps so that machine noise hits them alike (the floor, if any, runs with each pair).

    At least ``pairs`` pairs, and more until ``seconds`` of timing have passed (at most ``max_pairs``):
    on a shared virtual machine single steps vary by 2x, and only many pairs give a steady median."""
    timing = Timing([], [])
    with autocast():
        for _ in range(warmup):
            theirs()
            ours()
        start_all = time.perf_counter()
        i = 0
        while i < pairs or (time.perf_counter() - start_all < seconds and i < max_pairs):
            order = [(theirs, timing.theirs), (ours, timing.ours)]
            if floor is not None:
                order.insert(1, (floor, timing.floor))
            if i % 2:
                order.reverse()  # neither always goes first
            for step, times in order:
                start = time.perf_counter()
                step()
                times.append(time.perf_counter() - start)
            i += 1
    return timing


def peak_memory_mb(workload: str, implementation: str, bf16: bool, quick: bool) -> float:
    """One step of one implementation in a fresh process: peak RSS over the RSS before the step."""
    command = [sys.executable, __file__, "--memory-probe", workload, implementation]
    command += ["--bf16"] if bf16 else []
    command += ["--quick"] if quick else []
    command += ["--threads", str(torch.get_num_threads())]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        return float("nan")
    return float(result.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024  # kB -> MiB


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_probe(name: str, implementation: str, bf16: bool, quick: bool) -> None:
    """Build one implementation, warm it up, then report the peak of one steady-state step."""
    torch.manual_seed(0)
    built = WORKLOADS[name](quick)
    step = built.theirs_step if implementation == "theirs" else built.ours_step
    del built  # keep only the model under test reachable, through `step`
    gc.collect()
    with autocast_context(bf16)():
        step()  # first step: the optimizer allocates its state
        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak-RSS counter (VmHWM, ru_maxrss) to the current RSS
        baseline = current_rss_mb()
        step()
    # VmHWM, the peak RSS of this address space. (ru_maxrss would not do: at exec the kernel seeds it with
    # the RSS of the process that spawned this one, the benchmark itself, and clear_refs does not reset it.)
    print(peak_rss_mb() - baseline)


def autocast_context(bf16: bool):
    if bf16:
        return lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    return nullcontext


# ------------------------------------------------------------------------------------------ main


def measure(name: str, args) -> dict:
    """Build one workload, check that the two outputs agree, and time the two steps side by side."""
    torch.manual_seed(0)
    built: Workload = WORKLOADS[name](args.quick)
    error = built.check()  # outputs agree before anything is timed
    pairs = 3 if args.quick else max(7, built.pairs)
    timing = time_side_by_side(
        built.theirs_step, built.ours_step, pairs, 1 if args.quick else 2, autocast_context(args.bf16),
        floor=built.floor_step, seconds=0.0 if args.quick else args.seconds,
    )  # fmt: skip
    ratios = timing.ratios
    row = {
        "workload": name,
        "theirs_s": statistics.median(timing.theirs),
        "ours_s": statistics.median(timing.ours),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "pairs": len(ratios),
        "target": built.target,
        "max_abs_diff": error,
        "flops": built.flops,
    }
    if timing.floor:  # no implementation of the same maths goes under this ratio
        row["floor_ratio"] = statistics.median(timing.floor_ratios)
    if "memory_target" in built.notes:
        row["memory_target"] = built.notes["memory_target"]
    return row


def measure_in_own_process(name: str, args) -> dict:
    """``measure`` in a fresh process: how fast a step is depends on the process's history (what the
    allocator kept from earlier workloads decides how many page faults a step takes), so each workload
    starts from the same state, as in a user's process that runs one model."""
    command = [sys.executable, __file__, "--measure", name, "--threads", str(torch.get_num_threads())]
    command += ["--seconds", str(args.seconds)]
    command += (["--bf16"] if args.bf16 else []) + (["--quick"] if args.quick else [])
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"workload {name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(args) -> list[dict]:
    rates = matmul_rates()
    print("matmul GFLOP/s: " + ", ".join(f"{k} {v:.0f}" for k, v in rates.items()))
    rate = rates["bf16"] if args.bf16 else rates["fp32"]
    rows = []
    # compiling takes a minute on two cores: --quick leaves the compiled rows out unless they are named
    names = args.workloads or [name for name in WORKLOADS if not (args.quick and name.endswith("_compiled"))]
    for name in names:
        # --quick stays in this process: six fresh interpreters would cost a minute of its two
        isolate = getattr(args, "isolate", False) and not args.quick
        row = measure_in_own_process(name, args) if isolate else measure(name, args)
        gc.collect()
        flops = row.pop("flops")
        nan = float("nan")
        row["mfu_ours"] = flops / row["ours_s"] / (rate * 1e9) if flops else nan
        row["mfu_theirs"] = flops / row["theirs_s"] / (rate * 1e9) if flops else nan
        row["mfu_ours_vs_onednn"] = flops / row["ours_s"] / (rates["onednn_fp32"] * 1e9) if flops else nan
        if not (args.no_memory or args.quick):  # a fresh process per probe: a minute that --quick leaves out
            row["theirs_mb"] = peak_memory_mb(name, "theirs", args.bf16, args.quick)
            row["ours_mb"] = peak_memory_mb(name, "ours", args.bf16, args.quick)
            row["memory_ratio"] = row["ours_mb"] / row["theirs_mb"] if row["theirs_mb"] > 0 else nan
        row["met"] = row["ratio"] <= row["target"] + 0.02
        if "memory_target" in row and "memory_ratio" in row:
            row["met"] = row["met"] and row["memory_ratio"] <= row["memory_target"] + 0.02
        rows.append(row)
        print_row(row)
    print_markdown(rows, rates, args)
    return rows


def print_markdown(rows: list[dict], rates: dict[str, float], args) -> None:
    """The table of the README: one line per workload."""
    mode = "bf16 autocast" if args.bf16 else "fp32"
    print(f"\n{mode}, {torch.get_num_threads()} threads; matmul GFLOP/s: "
          + ", ".join(f"{k} {v:.0f}" for k, v in rates.items()))
    print(
        "| workload | transformers | ours | ratio (min..max) | target | GEMM floor | MFU theirs / ours "
        "| peak MB ours / theirs | met |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        memory = f"{row['ours_mb']:.0f} / {row['theirs_mb']:.0f}" if "ours_mb" in row else "-"
        floor = f"{row['floor_ratio']:.2f}" if "floor_ratio" in row else "-"
        print(
            f"| {row['workload']} | {row['theirs_s'] * 1e3:.0f} ms | {row['ours_s'] * 1e3:.0f} ms | "
            f"{row['ratio']:.2f} ({row['ratio_min']:.2f}..{row['ratio_max']:.2f}) | <= {row['target']:.2f} | "
            f"{floor} | {row['mfu_theirs'] * 100:.0f}% / {row['mfu_ours'] * 100:.0f}% | {memory} | "
            f"{'yes' if row['met'] else 'no'} |"
        )


def print_row(row: dict) -> None:
    memory = ""
    if "ours_mb" in row:
        memory = f" | mem {row['ours_mb']:.0f}/{row['theirs_mb']:.0f} MB"
    print(
        f"{row['workload']:<28} theirs {row['theirs_s'] * 1e3:8.1f} ms | ours {row['ours_s'] * 1e3:8.1f} ms | "
        f"ratio {row['ratio']:.2f} ({row['ratio_min']:.2f}..{row['ratio_max']:.2f}) target <= {row['target']:.2f} "
        f"{'met' if row['met'] else 'MISSED'} | MFU {row['mfu_ours'] * 100:.0f}%{memory} | diff {row['max_abs_diff']:.1e}"
        + (f" | GEMM floor {row['floor_ratio']:.2f}" if "floor_ratio" in row else ""),
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="3 pairs, smaller inputs, no compiled rows or memory probes (under 2 minutes)"
    )
    parser.add_argument("--bf16", action="store_true", help="run both under torch.autocast('cpu', bfloat16)")
    parser.add_argument("--workloads", nargs="*", choices=list(WORKLOADS), help="a subset of workloads")
    parser.add_argument(
        "--seconds", type=float, default=20.0,
        help="time each workload for at least this long (at least 7 pairs; default 20 s): more pairs, steadier medians",
    )  # fmt: skip
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="torch threads (default: every core); "
        "on a machine shared with other jobs, 1 thread gives steadier ratios"
    )
    parser.add_argument(
        "--in-process", dest="isolate", action="store_false",
        help="time every workload in this process (default, except with --quick: each in a fresh one)",
    )  # fmt: skip
    parser.add_argument("--memory-probe", nargs=2, metavar=("WORKLOAD", "IMPL"), help=argparse.SUPPRESS)
    parser.add_argument("--measure", metavar="WORKLOAD", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.memory_probe:
        memory_probe(*args.memory_probe, bf16=args.bf16, quick=args.quick)
        return
    if args.measure:
        print(json.dumps(measure(args.measure, args)))
        return
    rows = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
