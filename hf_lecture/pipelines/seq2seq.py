"""A text-to-text generation pipeline for encoder-decoder models, under the task "seq2seq-generation".

transformers v5 removed "text2text-generation", "translation" and "summarization"; this puts the same
use back for LectureTransformerForConditionalGeneration (and any AutoModelForSeq2SeqLM):

    translator = pipeline("seq2seq-generation", model="path/to/folder", num_beams=4)
    translator("six hundred and sixty-three")  ->  [{"generated_text": "육백육십삼"}]
"""

from __future__ import annotations

from typing import Any

from transformers import AutoModelForSeq2SeqLM, Pipeline
from transformers.pipelines import PIPELINE_REGISTRY

TASK = "seq2seq-generation"


class Seq2SeqGenerationPipeline(Pipeline):
    """Tokenise the source text, ``model.generate(...)``, decode: one dict per returned sequence.

    Keyword arguments of ``generate`` (``num_beams``, ``max_new_tokens``, ``num_return_sequences``,
    ``do_sample``, ...) pass through, at construction or per call.
    """

    _pipeline_calls_generate = True
    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = True

    def _sanitize_parameters(self, max_source_length: int | None = None, skip_special_tokens: bool = True, **generate_kwargs):
        preprocess = {"max_source_length": max_source_length} if max_source_length is not None else {}
        return preprocess, generate_kwargs, {"skip_special_tokens": skip_special_tokens}

    def __call__(self, inputs: str | list[str], **kwargs: Any):
        """One source text gives a list of dicts; a list of texts gives a list of such lists."""
        if isinstance(inputs, str):
            return super().__call__(inputs, **kwargs)
        if not isinstance(inputs, (list, tuple)) or not all(isinstance(text, str) for text in inputs):
            raise ValueError("seq2seq-generation takes a source text (str) or a list of source texts")
        return super().__call__(list(inputs), **kwargs)

    def preprocess(self, text: str, max_source_length: int | None = None) -> dict:
        if not text.strip():
            raise ValueError("seq2seq-generation: the source text is empty")
        truncate = max_source_length is not None
        return self.tokenizer(text, return_tensors="pt", truncation=truncate, max_length=max_source_length)

    def _forward(self, model_inputs: dict, **generate_kwargs) -> dict:
        generate_kwargs = self._prepare_generate_kwargs(generate_kwargs)  # construction-time kwargs + this call's
        inputs = {key: model_inputs[key] for key in ("input_ids", "attention_mask") if key in model_inputs}
        return {"output_ids": self.model.generate(**inputs, **generate_kwargs)}  # (num_return_sequences, T)

    def postprocess(self, model_outputs: dict, skip_special_tokens: bool = True) -> list[dict[str, str]]:
        texts = self.tokenizer.batch_decode(model_outputs["output_ids"], skip_special_tokens=skip_special_tokens)
        return [{"generated_text": text.strip()} for text in texts]


def register() -> None:
    PIPELINE_REGISTRY.register_pipeline(TASK, pipeline_class=Seq2SeqGenerationPipeline, pt_model=AutoModelForSeq2SeqLM, type="text")
