"""hf_lecture: the lecture's Transformer, BERT and ViT, written from scratch as Hugging Face models.

Importing the package registers every config and model with the Auto classes (and the
pipelines), so ``AutoModel.from_pretrained(folder)`` works without ``trust_remote_code``.
"""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM

from .models.configuration_transformer import LectureTransformerConfig
from .models.modeling_transformer import (
    LectureTransformerForCausalLM,
    LectureTransformerForConditionalGeneration,
    LectureTransformerModel,
)

__version__ = "0.1.0"

# --- encoder-decoder Transformer ---
AutoConfig.register("lecture_transformer", LectureTransformerConfig)
AutoModel.register(LectureTransformerConfig, LectureTransformerModel)
AutoModelForSeq2SeqLM.register(LectureTransformerConfig, LectureTransformerForConditionalGeneration)
AutoModelForCausalLM.register(LectureTransformerConfig, LectureTransformerForCausalLM)
# save_pretrained then writes an auto_map and copies models/ next to the weights (trust_remote_code loading).
LectureTransformerConfig.register_for_auto_class()
LectureTransformerModel.register_for_auto_class("AutoModel")
LectureTransformerForConditionalGeneration.register_for_auto_class("AutoModelForSeq2SeqLM")
LectureTransformerForCausalLM.register_for_auto_class("AutoModelForCausalLM")

# --- BERT ---
from transformers import (  # noqa: E402
    AutoModelForMaskedLM,
    AutoModelForNextSentencePrediction,
    AutoModelForPreTraining,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
)

from .models.configuration_bert import LectureBertConfig  # noqa: E402
from .models.modeling_bert import (  # noqa: E402
    LectureBertForMaskedLM,
    LectureBertForNextSentencePrediction,
    LectureBertForPreTraining,
    LectureBertForSequenceClassification,
    LectureBertForTokenClassification,
    LectureBertModel,
)

AutoConfig.register("lecture_bert", LectureBertConfig)
LectureBertConfig.register_for_auto_class()
for _auto, _model in (
    (AutoModel, LectureBertModel),
    (AutoModelForPreTraining, LectureBertForPreTraining),
    (AutoModelForMaskedLM, LectureBertForMaskedLM),
    (AutoModelForNextSentencePrediction, LectureBertForNextSentencePrediction),
    (AutoModelForSequenceClassification, LectureBertForSequenceClassification),
    (AutoModelForTokenClassification, LectureBertForTokenClassification),
):
    _auto.register(LectureBertConfig, _model)
    _model.register_for_auto_class(_auto.__name__)  # save_pretrained writes auto_map and copies models/
del _auto, _model

# --- ViT ---
from transformers import AutoModelForImageClassification  # noqa: E402

from .models.configuration_vit import LectureViTConfig  # noqa: E402
from .models.modeling_vit import LectureViTForImageClassification, LectureViTModel  # noqa: E402

AutoConfig.register("lecture_vit", LectureViTConfig)
AutoModel.register(LectureViTConfig, LectureViTModel)
AutoModelForImageClassification.register(LectureViTConfig, LectureViTForImageClassification)
LectureViTConfig.register_for_auto_class()
LectureViTModel.register_for_auto_class("AutoModel")
LectureViTForImageClassification.register_for_auto_class("AutoModelForImageClassification")

# --- pipelines ---
from .pipelines import register as _register_pipelines  # noqa: E402

_register_pipelines()  # the "seq2seq-generation" task

__all__ = [
    "LectureTransformerConfig",
    "LectureTransformerModel",
    "LectureTransformerForConditionalGeneration",
    "LectureTransformerForCausalLM",
    # BERT
    "LectureBertConfig",
    "LectureBertModel",
    "LectureBertForPreTraining",
    "LectureBertForMaskedLM",
    "LectureBertForNextSentencePrediction",
    "LectureBertForSequenceClassification",
    "LectureBertForTokenClassification",
    "LectureViTConfig",
    "LectureViTModel",
    "LectureViTForImageClassification",
]
