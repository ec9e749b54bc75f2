"""The Vision Transformer of "An Image is Worth 16x16 Words" (Dosovitskiy et al., 2020).

    image (C, H, W) -> N patches of P x P -> flatten -> linear map E -> N patch tokens
    [CLS] token in front, + learned position embeddings E_pos             (paper, eq. 1)
    -> L x pre-LN encoder layers (the same EncoderLayer as BERT and the Transformer; eq. 2, 3)
    -> LayerNorm -> the [CLS] token's vector is the image representation   (eq. 4)

Classes:
- ``LectureViTModel``: the trunk; returns every token's vector and (optionally) a tanh pooler output.
- ``LectureViTForImageClassification``: a linear classifier on the final [CLS] vector.

Axes: B batch, C channels, H/W image height/width, P patch side, N patches, D hidden size (d_model).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_outputs import BaseModelOutputWithPooling, ImageClassifierOutput

from .configuration_vit import LectureViTConfig
from .layers import EncoderLayer, LayerSpec
from .saving import SavingMixin


def check_pixel_values(
    pixel_values: torch.Tensor | None, config: LectureViTConfig, interpolate_pos_encoding: bool
) -> None:
    """Reject images the patch embedding would fail on (or silently misread), naming what was expected."""
    if torch.compiler.is_compiling():
        return
    expected = f"(batch, num_channels={config.num_channels}, height, width)"
    if not isinstance(pixel_values, torch.Tensor):
        raise ValueError(f"pixel_values must be a tensor of shape {expected}, got {type(pixel_values).__name__}")
    if not pixel_values.is_floating_point():
        raise ValueError(
            f"pixel_values must be a floating-point tensor (rescaled and normalised, as the image processor "
            f"returns them), got dtype {pixel_values.dtype}"
        )
    if pixel_values.dim() != 4:
        raise ValueError(f"pixel_values must have shape {expected}, got {tuple(pixel_values.shape)}")
    batch, channels, height, width = pixel_values.shape
    if batch == 0:
        raise ValueError("pixel_values is empty: give at least one image")
    if channels != config.num_channels:
        raise ValueError(
            f"pixel_values must have num_channels={config.num_channels} channels (dimension 1 of {expected}), "
            f"got {channels} (shape {tuple(pixel_values.shape)})"
        )
    size, patch = config.image_size, config.patch_size
    if not interpolate_pos_encoding and (height, width) != (size, size):
        raise ValueError(
            f"pixel_values must be {size}x{size} (image_size={size}), got {height}x{width}; "
            "pass interpolate_pos_encoding=True to run at another resolution"
        )
    if height % patch != 0 or width % patch != 0:
        raise ValueError(
            f"pixel_values height and width must be multiples of patch_size={patch}, got {height}x{width}"
        )
    if not bool(torch.isfinite(pixel_values).all()):
        raise ValueError("pixel_values contains NaN or infinite values (check the image normalisation: a std of 0?)")


def check_labels(labels: torch.Tensor, logits: torch.Tensor, config: LectureViTConfig) -> None:
    """Class ids must be in [0, num_labels) (or -100, ignored), one per image; no bare IndexError from the loss."""
    if torch.compiler.is_compiling():
        return
    if labels.dim() == 0 or labels.shape[0] != logits.shape[0]:
        raise ValueError(f"labels must have one entry per image ({logits.shape[0]}), got shape {tuple(labels.shape)}")
    if labels.is_floating_point() or config.num_labels == 1:
        # multi-label targets or regression values: one per logit
        if labels.numel() != logits.numel():
            raise ValueError(
                f"labels must have one value per logit, shape {tuple(logits.shape)} "
                f"(num_labels={config.num_labels}), got {tuple(labels.shape)}"
            )
        return
    valid = (labels == -100) | ((labels >= 0) & (labels < config.num_labels))
    if not bool(valid.all()):
        raise ValueError(
            f"labels must be class ids in [0, num_labels={config.num_labels}) (or -100 to ignore), "
            f"got values from {int(labels.min())} to {int(labels.max())}"
        )


class LectureViTPatchEmbeddings(nn.Module):
    """Cut the image into P x P patches, flatten each, and map it linearly to D: x_p^i E  (paper, eq. 1).

    A ``nn.Conv2d(C, D, kernel_size=P, stride=P)`` whose weight is ``projection.weight.view(D, C, P, P)``
    computes the same numbers (that is how transformers' ViT writes it, and what the converter uses).
    """

    def __init__(self, config: LectureViTConfig):
        super().__init__()
        self.patch_size = config.patch_size
        patch_dim = config.num_channels * config.patch_size**2  # C * P^2 values per flattened patch
        self.projection = nn.Linear(patch_dim, config.hidden_size)  # E

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, N, D)
        batch, channels, height, width = pixel_values.shape
        P = self.patch_size
        rows, cols = height // P, width // P
        patches = pixel_values.reshape(batch, channels, rows, P, cols, P)  # (B, C, H/P, P, W/P, P)
        patches = patches.permute(0, 2, 4, 1, 3, 5)  # (B, H/P, W/P, C, P, P)
        patches = patches.reshape(batch, rows * cols, channels * P * P)  # (B, N, C*P*P), row by row
        return self.projection(patches)  # (B, N, D)


class LectureViTEmbeddings(nn.Module):
    """z_0 = [x_class; x_p^1 E; ...; x_p^N E] + E_pos   (paper, eq. 1).

    The [CLS] token is a learned vector prepended to the patch tokens; its final state represents the image.
    The position embeddings are learned too, one per grid cell plus one for [CLS].
    """

    def __init__(self, config: LectureViTConfig):
        super().__init__()
        self.grid_size = config.image_size // config.patch_size  # patches per side at the native resolution
        self.patch_size = config.patch_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))  # x_class
        self.patch_embeddings = LectureViTPatchEmbeddings(config)
        self.position_embeddings = nn.Parameter(torch.zeros(1, config.num_patches + 1, config.hidden_size))  # E_pos
        self.dropout = config.hidden_dropout_prob

    def interpolate_pos_encoding(self, height: int, width: int) -> torch.Tensor:
        """Position embeddings for an H x W image: the N learned grid vectors, resized bicubically (paper, 3.2).

        Fine-tuning at a higher resolution keeps the patch size, so the grid grows; the paper resizes the
        pre-trained position embeddings in 2D to the new grid. Returns (1, 1 + (H/P)(W/P), D).
        """
        rows, cols = height // self.patch_size, width // self.patch_size
        if (rows, cols) == (self.grid_size, self.grid_size):
            return self.position_embeddings
        cls_position = self.position_embeddings[:, :1]  # (1, 1, D): [CLS] has no place on the grid
        grid = self.position_embeddings[:, 1:]  # (1, N, D)
        dim = grid.shape[-1]
        grid = grid.reshape(1, self.grid_size, self.grid_size, dim).permute(0, 3, 1, 2)  # (1, D, g, g)
        grid = nn.functional.interpolate(grid.float(), size=(rows, cols), mode="bicubic", align_corners=False)
        grid = grid.to(cls_position.dtype).permute(0, 2, 3, 1).reshape(1, rows * cols, dim)  # (1, N', D)
        return torch.cat([cls_position, grid], dim=1)  # (1, 1 + N', D)

    def forward(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False) -> torch.Tensor:
        batch, _, height, width = pixel_values.shape  # (B, C, H, W)
        patch_tokens = self.patch_embeddings(pixel_values)  # (B, N, D)
        cls_tokens = self.cls_token.expand(batch, -1, -1)  # (B, 1, D)
        embeddings = torch.cat([cls_tokens, patch_tokens], dim=1)  # (B, 1 + N, D)
        if interpolate_pos_encoding:
            embeddings = embeddings + self.interpolate_pos_encoding(height, width)
        else:
            embeddings = embeddings + self.position_embeddings
        return nn.functional.dropout(embeddings, p=self.dropout, training=self.training)


class LectureViTPooler(nn.Module):
    """tanh(W h_[CLS] + b), as in BERT; transformers' ViTModel carries it (not used for classification)."""

    def __init__(self, config: LectureViTConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.pooler_output_size)
        self.activation = ACT2FN[config.pooler_act]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:  # (B, 1 + N, D) -> (B, D_pool)
        return self.activation(self.dense(hidden_states[:, 0]))


class LectureViTPreTrainedModel(SavingMixin, PreTrainedModel):
    config_class = LectureViTConfig
    base_model_prefix = "vit"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _can_compile_fullgraph = False
    _no_split_modules = ["LectureViTEmbeddings", "EncoderLayer"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)  # normal(0, initializer_range) for Linear, ones / zeros for LayerNorm
        if isinstance(module, LectureViTEmbeddings):
            init.trunc_normal_(module.position_embeddings, mean=0.0, std=self.config.initializer_range)
            init.trunc_normal_(module.cls_token, mean=0.0, std=self.config.initializer_range)


class LectureViTModel(LectureViTPreTrainedModel):
    """Embeddings, L pre-LN encoder layers, a final LayerNorm; optionally the tanh pooler on [CLS]."""

    def __init__(self, config: LectureViTConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.config = config
        self.embeddings = LectureViTEmbeddings(config)
        spec = LayerSpec(
            d_model=config.hidden_size,
            num_heads=config.num_attention_heads,
            d_ff=config.intermediate_size,
            activation=config.hidden_act,
            dropout=config.hidden_dropout_prob,
            attention_dropout=config.attention_probs_dropout_prob,
            activation_dropout=0.0,
            pre_norm=True,  # ViT: x + MSA(LN(x)), x + MLP(LN(x))  (paper, eq. 2 and 3)
            layer_norm_eps=config.layer_norm_eps,
        )
        self.layers = nn.ModuleList([EncoderLayer(config, spec) for _ in range(config.num_hidden_layers)])
        # pre-LN leaves the residual stream un-normalised: y = LN(z_L)  (paper, eq. 4)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.pooler = LectureViTPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings.patch_embeddings

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,  # (B, C, H, W) float, as the image processor returns it
        interpolate_pos_encoding: bool | None = None,  # True: any H, W that are multiples of patch_size
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        cls_only: bool = False,  # True: only [CLS]'s final vector, last_hidden_state (B, 1, D): all a classifier reads
        **kwargs,
    ) -> BaseModelOutputWithPooling | tuple:
        output_attentions = self.config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = (
            self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )
        return_dict = self.config.return_dict if return_dict is None else return_dict
        interpolate_pos_encoding = bool(interpolate_pos_encoding)
        check_pixel_values(pixel_values, self.config, interpolate_pos_encoding)
        # The last layer can skip every token but [CLS] (1/6 of the work of a 6-layer model), unless the
        # caller wants every token's states or attention maps.
        cls_only = cls_only and not (output_attentions or output_hidden_states)

        # Images arrive as float32 from the processor; the model may run in bf16 / fp16.
        pixel_values = pixel_values.to(self.embeddings.patch_embeddings.projection.weight.dtype)
        hidden_states = self.embeddings(pixel_values, interpolate_pos_encoding)  # (B, 1 + N, D)

        # Every token attends to every other token: no mask.
        all_hidden_states, all_attentions = [hidden_states], []
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            hidden_states, weights = layer(
                hidden_states, None, output_attentions=output_attentions, cls_only=cls_only and index == last
            )
            if output_hidden_states:  # else keep no reference: each layer's memory is reused
                all_hidden_states.append(hidden_states)
            all_attentions.append(weights)
        sequence_output = self.layernorm(hidden_states)  # (B, 1 + N, D)
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None

        outputs = BaseModelOutputWithPooling(
            last_hidden_state=sequence_output,
            pooler_output=pooled_output,
            # as in transformers: the embeddings and each layer's output, before the final LayerNorm
            hidden_states=tuple(all_hidden_states) if output_hidden_states else None,
            attentions=tuple(all_attentions) if output_attentions else None,
        )
        return outputs if return_dict else outputs.to_tuple()


class LectureViTForImageClassification(LectureViTPreTrainedModel):
    """A linear head on the final [CLS] vector (the paper's MLP head at fine-tuning time is one linear layer).

    ``labels``: (B,) class ids for single-label classification, (B, num_labels) floats for multi-label,
    (B,) floats for regression when num_labels == 1 (``config.problem_type``, as in transformers).
    """

    accepts_loss_kwargs = False  # the loss is a mean over the batch; Trainer handles gradient accumulation

    def __init__(self, config: LectureViTConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.vit = LectureViTModel(config, add_pooling_layer=False)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels) if config.num_labels > 0 else nn.Identity()
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,  # (B, C, H, W)
        labels: torch.Tensor | None = None,  # (B,) or (B, num_labels)
        interpolate_pos_encoding: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> ImageClassifierOutput | tuple:
        return_dict = self.config.return_dict if return_dict is None else return_dict
        outputs = self.vit(
            pixel_values,
            interpolate_pos_encoding=interpolate_pos_encoding,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            cls_only=True,  # the head reads [CLS] only, so the last layer computes nothing else
        )
        logits = self.classifier(outputs.last_hidden_state[:, 0])  # (B, num_labels) from the [CLS] token

        loss = None
        if labels is not None:
            check_labels(labels, logits, self.config)
            if not labels.is_floating_point() and not bool((labels != -100).any()):
                loss = (logits * 0.0).sum()  # no image carries a label: a zero loss (and gradient), not 0 / 0 = NaN
            else:
                # transformers' classification loss: cross-entropy, BCE-with-logits or MSE per config.problem_type
                loss = self.loss_function(labels, logits, self.config)

        result = ImageClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return result if return_dict else result.to_tuple()


__all__ = ["LectureViTPreTrainedModel", "LectureViTModel", "LectureViTForImageClassification"]
