"""Pipelines that transformers v5 no longer ships."""

from .seq2seq import TASK as SEQ2SEQ_TASK
from .seq2seq import Seq2SeqGenerationPipeline, register

__all__ = ["SEQ2SEQ_TASK", "Seq2SeqGenerationPipeline", "register"]
