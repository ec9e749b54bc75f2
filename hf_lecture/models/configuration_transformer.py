"""Configuration of the encoder-decoder Transformer ("Attention Is All You Need").

Field names are MarianConfig's, so a transformers Marian config maps over field by field. The defaults
are the paper's base model (Table 3): d_model 512, 6 + 6 layers, 8 heads, d_ff 2048, dropout 0.1,
post-LN, sinusoidal positions, embeddings scaled by sqrt(d_model) and shared with the output layer.
"""

from __future__ import annotations

from transformers import PretrainedConfig
from transformers.activations import ACT2FN

POSITION_EMBEDDING_TYPES = ("sinusoidal", "learned")
SINUSOIDAL_LAYOUTS = ("interleaved", "halves")

# Written into every saved config.json: with trust_remote_code, any of these Auto classes can load a
# checkpoint saved by any of the family's models (a translation model as AutoModel, say).
AUTO_MAP = {
    "AutoConfig": "configuration_transformer.LectureTransformerConfig",
    "AutoModel": "modeling_transformer.LectureTransformerModel",
    "AutoModelForSeq2SeqLM": "modeling_transformer.LectureTransformerForConditionalGeneration",
    "AutoModelForCausalLM": "modeling_transformer.LectureTransformerForCausalLM",
}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class LectureTransformerConfig(PretrainedConfig):
    model_type = "lecture_transformer"
    keys_to_ignore_at_inference = ["past_key_values"]
    # v5's generate sizes its KV cache from these generic names: they read through to the decoder's fields.
    attribute_map = {
        "hidden_size": "d_model",
        "num_attention_heads": "decoder_attention_heads",
        "num_hidden_layers": "decoder_layers",
    }

    def __init__(
        self,
        vocab_size: int = 32000,  # size of the (shared source/target) vocabulary
        d_model: int = 512,  # d_model: width of every token vector
        encoder_layers: int = 6,  # N: encoder layers
        decoder_layers: int = 6,  # N: decoder layers
        encoder_attention_heads: int = 8,  # h in the encoder
        decoder_attention_heads: int = 8,  # h in the decoder (self- and cross-attention)
        encoder_ffn_dim: int = 2048,  # d_ff in the encoder
        decoder_ffn_dim: int = 2048,  # d_ff in the decoder
        activation_function: str = "relu",  # FFN non-linearity (the paper: ReLU)
        dropout: float = 0.1,  # P_drop on embeddings and on every sublayer output
        attention_dropout: float = 0.0,  # dropout on the attention weights
        activation_dropout: float = 0.0,  # dropout between fc1 and fc2
        max_position_embeddings: int = 512,  # longest sequence the positions cover
        position_embedding_type: str = "sinusoidal",  # "sinusoidal" (paper) or "learned"
        sinusoidal_layout: str = "interleaved",  # "interleaved" sin/cos pairs (paper) or "halves" (Marian)
        scale_embedding: bool = True,  # multiply embeddings by sqrt(d_model) (paper, 3.4)
        normalize_before: bool = False,  # False: post-LN, LayerNorm(x + Sublayer(x)) (paper); True: pre-LN
        layer_norm_eps: float = 1e-5,  # epsilon of every LayerNorm
        share_encoder_decoder_embeddings: bool = True,  # one embedding matrix for source and target (3.4)
        tie_word_embeddings: bool = True,  # the output projection (pre-softmax linear) reuses that matrix (3.4)
        add_final_logits_bias: bool = False,  # a bias on the output logits, as Marian checkpoints have
        label_smoothing: float = 0.0,  # epsilon_ls of the cross-entropy (the paper trains with 0.1)
        init_std: float = 0.02,  # std of the normal initialisation of weights
        use_cache: bool = True,  # keep keys/values of earlier steps during generation
        pad_token_id: int = 0,
        bos_token_id: int = 1,
        eos_token_id: int = 2,
        decoder_start_token_id: int = 1,  # the first decoder input, before any target token
        is_encoder_decoder: bool = True,  # False for LectureTransformerForCausalLM (decoder fields apply)
        **kwargs,
    ):
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.encoder_layers = encoder_layers
        self.decoder_layers = decoder_layers
        self.encoder_attention_heads = encoder_attention_heads
        self.decoder_attention_heads = decoder_attention_heads
        self.encoder_ffn_dim = encoder_ffn_dim
        self.decoder_ffn_dim = decoder_ffn_dim
        self.activation_function = activation_function
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation_dropout = activation_dropout
        self.max_position_embeddings = max_position_embeddings
        self.position_embedding_type = position_embedding_type
        self.sinusoidal_layout = sinusoidal_layout
        self.scale_embedding = scale_embedding
        self.normalize_before = normalize_before
        self.layer_norm_eps = layer_norm_eps
        self.share_encoder_decoder_embeddings = share_encoder_decoder_embeddings
        self.add_final_logits_bias = add_final_logits_bias
        self.label_smoothing = label_smoothing
        self.init_std = init_std
        self.use_cache = use_cache
        kwargs["auto_map"] = {**AUTO_MAP, **(kwargs.get("auto_map") or {})}
        super().__init__(
            pad_token_id=pad_token_id,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            decoder_start_token_id=decoder_start_token_id,
            is_encoder_decoder=is_encoder_decoder,
            tie_word_embeddings=tie_word_embeddings,
            **kwargs,
        )
        self.validate_fields()

    def validate_fields(self) -> None:
        """Raise a ValueError that names the field and the rule it breaks."""
        positive = (
            "vocab_size", "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
            "decoder_attention_heads", "encoder_ffn_dim", "decoder_ffn_dim", "max_position_embeddings",
        )  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("encoder_attention_heads", "decoder_attention_heads"):
            if self.d_model % getattr(self, name) != 0:
                raise ValueError(
                    f"d_model ({self.d_model}) must be divisible by {name} ({getattr(self, name)}): "
                    "each head gets d_model / h dimensions"
                )
        for name in ("dropout", "attention_dropout", "activation_dropout", "label_smoothing"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")
        if self.activation_function not in ACT2FN:
            raise ValueError(
                f"activation_function must be one of transformers' activations (e.g. 'relu', 'gelu'), "
                f"got {self.activation_function!r}"
            )
        if self.position_embedding_type not in POSITION_EMBEDDING_TYPES:
            raise ValueError(
                f"position_embedding_type must be one of {POSITION_EMBEDDING_TYPES}, got {self.position_embedding_type!r}"
            )
        if self.sinusoidal_layout not in SINUSOIDAL_LAYOUTS:
            raise ValueError(f"sinusoidal_layout must be one of {SINUSOIDAL_LAYOUTS}, got {self.sinusoidal_layout!r}")
        for name in ("layer_norm_eps", "init_std"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        for name in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"):
            value = getattr(self, name)
            for token_id in value if isinstance(value, (list, tuple)) else [value]:  # eos may be several ids
                if token_id is not None and not (_is_int(token_id) and 0 <= token_id < self.vocab_size):
                    raise ValueError(f"{name} must be a token id in [0, vocab_size={self.vocab_size}), got {value!r}")


__all__ = ["LectureTransformerConfig"]
