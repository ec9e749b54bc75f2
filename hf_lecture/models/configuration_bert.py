"""Configuration of BERT ("BERT: Pre-training of Deep Bidirectional Transformers", Devlin et al., 2018).

Field names are transformers' BertConfig's, so a transformers BERT config maps over field by field. The
defaults are BERT-base (section 3): L = 12 layers, H = 768, A = 12 heads, d_ff = 4H = 3072, GELU,
dropout 0.1, post-LN, learned positions, two segments, the MLM decoder tied to the word embeddings.
"""

from __future__ import annotations

from transformers import PretrainedConfig
from transformers.activations import ACT2FN

POSITION_EMBEDDING_TYPES = ("absolute", "none")
POOLING_TYPES = ("cls", "mean")

# Written into config.json: with trust_remote_code, a saved folder loads with every Auto class of the
# family, whichever head was saved (a pre-trained checkpoint is fine-tuned as a sequence classifier).
AUTO_MAP = {
    "AutoConfig": "configuration_bert.LectureBertConfig",
    "AutoModel": "modeling_bert.LectureBertModel",
    "AutoModelForPreTraining": "modeling_bert.LectureBertForPreTraining",
    "AutoModelForMaskedLM": "modeling_bert.LectureBertForMaskedLM",
    "AutoModelForNextSentencePrediction": "modeling_bert.LectureBertForNextSentencePrediction",
    "AutoModelForSequenceClassification": "modeling_bert.LectureBertForSequenceClassification",
    "AutoModelForTokenClassification": "modeling_bert.LectureBertForTokenClassification",
}


class LectureBertConfig(PretrainedConfig):
    model_type = "lecture_bert"

    def __init__(
        self,
        vocab_size: int = 30522,  # size of the WordPiece vocabulary
        hidden_size: int = 768,  # H (d_model): width of every token vector
        num_hidden_layers: int = 12,  # L: encoder layers
        num_attention_heads: int = 12,  # A (h): attention heads per layer
        intermediate_size: int = 3072,  # d_ff = 4H: inner width of the feed-forward network
        hidden_act: str = "gelu",  # FFN and MLM-transform non-linearity (BERT: GELU)
        hidden_dropout_prob: float = 0.1,  # P_drop on embeddings and on every sublayer output
        attention_probs_dropout_prob: float = 0.1,  # dropout on the attention weights
        max_position_embeddings: int = 512,  # longest input the learned position table covers
        type_vocab_size: int = 2,  # number of segments (sentence A / sentence B)
        initializer_range: float = 0.02,  # std of the normal initialisation of weights
        layer_norm_eps: float = 1e-12,  # epsilon of every LayerNorm
        pad_token_id: int = 0,  # [PAD]: its embedding row starts at zero and gets no gradient
        classifier_dropout: float | None = None,  # dropout before the task heads (None: hidden_dropout_prob)
        tie_word_embeddings: bool = True,  # the MLM decoder reuses the word-embedding matrix
        position_embedding_type: str = "absolute",  # "absolute" (learned table, BERT) or "none" (no positions)
        pooling: str = "cls",  # sentence vector of the sequence classifier: "cls" (BERT) or "mean" of the tokens
        unpad_inputs: bool = True,  # fast path: in training, run the per-token layers on the real tokens only
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.classifier_dropout = classifier_dropout
        self.position_embedding_type = position_embedding_type
        self.pooling = pooling
        self.unpad_inputs = unpad_inputs
        kwargs["auto_map"] = {**AUTO_MAP, **(kwargs.get("auto_map") or {})}
        super().__init__(pad_token_id=pad_token_id, tie_word_embeddings=tie_word_embeddings, **kwargs)
        self.validate_fields()

    def validate_fields(self) -> None:
        """Raise a ValueError that names the field and the rule it breaks."""
        positive = (
            "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "max_position_embeddings", "type_vocab_size",
        )  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads}): each head gets hidden_size / num_attention_heads dimensions"
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"):
            value = getattr(self, name)
            if name == "classifier_dropout" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")
        if self.hidden_act not in ACT2FN:
            raise ValueError(
                f"hidden_act must be one of transformers' activations (e.g. 'gelu', 'relu'), got {self.hidden_act!r}"
            )
        if self.position_embedding_type not in POSITION_EMBEDDING_TYPES:
            raise ValueError(
                f"position_embedding_type must be one of {POSITION_EMBEDDING_TYPES}, "
                f"got {self.position_embedding_type!r}"
            )
        if not isinstance(self.unpad_inputs, bool):
            raise ValueError(f"unpad_inputs must be True or False, got {self.unpad_inputs!r}")
        if self.pooling not in POOLING_TYPES:
            raise ValueError(f"pooling must be one of {POOLING_TYPES}, got {self.pooling!r}")
        if not isinstance(self.initializer_range, (int, float)) or not self.initializer_range > 0:
            raise ValueError(f"initializer_range must be > 0, got {self.initializer_range!r}")
        if not isinstance(self.layer_norm_eps, (int, float)) or not self.layer_norm_eps > 0:
            raise ValueError(f"layer_norm_eps must be > 0, got {self.layer_norm_eps!r}")
        pad = self.pad_token_id
        if pad is not None and (isinstance(pad, bool) or not isinstance(pad, int) or not 0 <= pad < self.vocab_size):
            raise ValueError(
                f"pad_token_id must be a token id in [0, vocab_size={self.vocab_size}), got {self.pad_token_id!r}"
            )


__all__ = ["LectureBertConfig"]
