"""Configuration of the Vision Transformer ("An Image is Worth 16x16 Words", Dosovitskiy et al., 2020).

Field names are transformers' ViTConfig's, so a ViT config maps over field by field. The defaults are
ViT-Base/16 (Table 1 of the paper): 224 x 224 images cut into 16 x 16 patches (196 tokens + [CLS]),
d_model 768, 12 layers, 12 heads, d_ff 3072, GELU, pre-LN.
"""

from __future__ import annotations

from transformers import PretrainedConfig
from transformers.activations import ACT2FN


class LectureViTConfig(PretrainedConfig):
    model_type = "lecture_vit"

    def __init__(
        self,
        image_size: int = 224,  # side of the (square) input image in pixels, H = W
        patch_size: int = 16,  # side P of each square patch: N = (H / P)^2 patch tokens
        num_channels: int = 3,  # C: colour channels of the input (3 for RGB)
        hidden_size: int = 768,  # d_model (the paper's D): width of every token vector
        num_hidden_layers: int = 12,  # L: encoder layers
        num_attention_heads: int = 12,  # h: attention heads
        intermediate_size: int = 3072,  # d_ff: inner width of the MLP block
        hidden_act: str = "gelu",  # MLP non-linearity (the paper: GELU)
        hidden_dropout_prob: float = 0.0,  # dropout on the embeddings and on every sublayer output
        attention_probs_dropout_prob: float = 0.0,  # dropout on the attention weights
        initializer_range: float = 0.02,  # std of the (truncated) normal initialisation
        layer_norm_eps: float = 1e-12,  # epsilon of every LayerNorm
        qkv_bias: bool = True,  # biases on W_q, W_k, W_v (layers.MultiHeadAttention always has them)
        pooler_output_size: int | None = None,  # width of the optional tanh pooler (None: hidden_size)
        pooler_act: str = "tanh",  # activation of that pooler (LectureViTModel(add_pooling_layer=True))
        **kwargs,
    ):
        self.image_size = image_size
        self.patch_size = patch_size
        self.num_channels = num_channels
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.qkv_bias = qkv_bias
        self.pooler_output_size = pooler_output_size if pooler_output_size is not None else hidden_size
        self.pooler_act = pooler_act
        super().__init__(**kwargs)
        self.validate_fields()

    @property
    def num_patches(self) -> int:
        """N, the number of patch tokens at the native resolution (the sequence is N + 1 with [CLS])."""
        return (self.image_size // self.patch_size) ** 2

    def validate_fields(self) -> None:
        """Raise a ValueError that names the field and the rule it breaks."""
        positive = (
            "image_size", "patch_size", "num_channels", "hidden_size", "num_hidden_layers",
            "num_attention_heads", "intermediate_size", "pooler_output_size",
        )  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"{name} must be a positive integer (square images and patches), got {value!r}"
                )
        if self.image_size % self.patch_size != 0:
            raise ValueError(
                f"image_size ({self.image_size}) must be divisible by patch_size ({self.patch_size}): "
                "the image is cut into whole patches"
            )
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads}): each head gets hidden_size / h dimensions"
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")
        for name in ("hidden_act", "pooler_act"):
            if getattr(self, name) not in ACT2FN:
                raise ValueError(
                    f"{name} must be one of transformers' activations (e.g. 'gelu', 'tanh'), "
                    f"got {getattr(self, name)!r}"
                )
        for name in ("initializer_range", "layer_norm_eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.qkv_bias is not True:
            raise ValueError(
                f"qkv_bias must be True, got {self.qkv_bias!r}: layers.MultiHeadAttention always has q/k/v biases "
                "(a checkpoint without them converts with zero biases)"
            )


__all__ = ["LectureViTConfig"]
