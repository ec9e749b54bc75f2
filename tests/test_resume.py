"""Interrupted training: a recipe's Trainer run killed mid-way (SIGKILL, a real process) resumes from its
last checkpoint and ends with exactly the weights of a run that was never interrupted (CPU, fixed seeds).

Each recipe runs three times on a small data file: once straight through (in this process), once in a
child process that is killed after it has passed its first checkpoints, and once resumed from the newest
checkpoint the killed run left. The child never finishes on its own: after ``STOP_AT`` optimizer steps it
writes a marker file and waits, and the test kills it there, with steps done since the last checkpoint
that the resumed run has to redo. BERT's masks and sentence pairs are drawn from (seed, epoch, index),
the translation batches are fixed by the seed, and Trainer restores the RNG state for dropout.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from transformers import AutoTokenizer

from hf_lecture.data.corpus import python_reference_documents
from hf_lecture.recipes import bert as recipes_bert
from hf_lecture.recipes.bert import pretrain_bert
from hf_lecture.recipes.common import checkpoint_to_resume
from hf_lecture.recipes.translate import train_translation

REPO = Path(__file__).resolve().parents[1]
SAVE_STEPS, STOP_AT = 4, 10  # checkpoints at steps 4 and 8; killed after step 10, so steps 9-10 are redone

BERT_ARGS = dict(vocab_size=400, hidden_size=16, layers=1, heads=2, intermediate_size=32, max_length=32,
                 epochs=2, batch_size=16, learning_rate=1e-3, seed=3, save_steps=SAVE_STEPS)  # fmt: skip
TRANSLATE_ARGS = dict(d_model=16, layers=1, heads=2, ffn_dim=32, dropout=0.1, label_smoothing=0.1, epochs=2,
                      batch_size=16, learning_rate=1e-3, num_beams=2, seed=3, save_steps=SAVE_STEPS)  # fmt: skip

CHILD = """
import sys, time
from pathlib import Path
import transformers

stop_at, marker = {stop_at}, Path({marker!r})
training_step = transformers.Trainer.training_step

def stopping_training_step(self, *args, **kwargs):
    if self.state.global_step >= stop_at:  # steps 1..stop_at are done: wait here to be killed
        marker.write_text(str(self.state.global_step))
        time.sleep(600)
    return training_step(self, *args, **kwargs)

transformers.Trainer.training_step = stopping_training_step
from hf_lecture.recipes.{module} import {function}
{function}({output_dir!r}, **{kwargs!r})
raise SystemExit("the run finished: it should have been killed first")
"""


def bert_corpus(tmp_path: Path) -> dict:
    """30 documents of the built-in corpus as a text file (a blank line between documents)."""
    documents = python_reference_documents()[:30]
    path = tmp_path / "corpus.txt"
    path.write_text("\n\n".join(" ".join(sentences) for sentences in documents), encoding="utf-8")
    return {"data_files": [str(path)]}


def translation_pairs(tmp_path: Path) -> dict:
    """300 pairs: a number written in digits -> its words reversed (a toy task, enough to train on)."""
    words = "zero one two three four five six seven eight nine".split()
    lines = ["source,target"]
    for n in range(300):
        digits = f"{n:03d}"
        lines.append(f"{' '.join(digits)},{' '.join(words[int(d)] for d in reversed(digits))}")
    path = tmp_path / "pairs.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"data_file": str(path)}


def run_and_kill(module: str, function: str, output_dir: Path, kwargs: dict) -> int:
    """Start the recipe in a child process, SIGKILL it once it has done STOP_AT steps; return that step."""
    marker = output_dir.parent / f"{output_dir.name}.stopped"
    script = CHILD.format(stop_at=STOP_AT, marker=str(marker), module=module, function=function,
                          output_dir=str(output_dir), kwargs=kwargs)  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 300
    try:
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"the child run ended before it was killed:\n{child.stderr.read()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the child run did not reach the stopping step in 300 s")
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    return int(marker.read_text())


def final_weights(output_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(output_dir / "model" / "model.safetensors")


def assert_resume_is_exact(tmp_path, monkeypatch, module, recipe, kwargs):
    interrupted = tmp_path / "interrupted"
    stopped_at = run_and_kill(module, recipe.__name__, interrupted, kwargs)
    assert stopped_at == STOP_AT
    assert not (interrupted / "model").exists()  # killed before the end: no final model
    resume_from = checkpoint_to_resume(interrupted / "checkpoints", True)
    assert Path(resume_from).name == f"checkpoint-{STOP_AT // SAVE_STEPS * SAVE_STEPS}"
    at_checkpoint = load_file(Path(resume_from) / "model.safetensors")
    recipe(interrupted, resume_from_checkpoint=True, **kwargs)
    resumed = final_weights(interrupted)

    # The uninterrupted run gets the same vocabulary: WordPiece training breaks ties in hash-map order, so
    # two processes can learn different vocabularies from the same text (huggingface/tokenizers#1794; the
    # recipes save the tokenizer and reload it on resume for that reason).
    saved_tokenizer = AutoTokenizer.from_pretrained(interrupted / "tokenizer")
    monkeypatch.setattr(recipes_bert, "train_wordpiece_tokenizer", lambda *args, **kwargs: saved_tokenizer)
    straight = tmp_path / "straight"
    recipe(straight, **kwargs)
    expected = final_weights(straight)
    assert AutoTokenizer.from_pretrained(straight / "tokenizer").get_vocab() == saved_tokenizer.get_vocab()

    assert resumed.keys() == expected.keys()
    for name in expected:
        assert torch.equal(resumed[name], expected[name]), f"{name} differs after resuming"
    # the resumed run did train past its checkpoint (the equality is not between two copies of it)
    assert any(not torch.equal(at_checkpoint[name], expected[name]) for name in at_checkpoint)


@pytest.mark.slow
def test_pretrain_bert_resumes_exactly_after_a_kill(tmp_path, monkeypatch):
    kwargs = {**BERT_ARGS, **bert_corpus(tmp_path)}
    assert_resume_is_exact(tmp_path, monkeypatch, "bert", pretrain_bert, kwargs)


@pytest.mark.slow
def test_translation_resumes_exactly_after_a_kill(tmp_path, monkeypatch):
    kwargs = {**TRANSLATE_ARGS, **translation_pairs(tmp_path)}
    assert_resume_is_exact(tmp_path, monkeypatch, "translate", train_translation, kwargs)


def test_an_incomplete_checkpoint_is_not_resumed_from(tmp_path):
    """A run killed while writing checkpoint-12 leaves it without trainer_state.json (Trainer's last file)."""
    for step, complete in ((4, True), (8, True), (12, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert checkpoint_to_resume(tmp_path, True) == str(tmp_path / "checkpoint-8")
    with pytest.raises(ValueError, match="checkpoint-12 is not a Trainer checkpoint"):
        checkpoint_to_resume(tmp_path, str(tmp_path / "checkpoint-12"))
