"""The building blocks every hf_lecture model is made of.

"Attention Is All You Need" (Vaswani et al., 2017), section 3, piece by piece:

- ``eager_attention_forward``: scaled dot-product attention, softmax(Q K^T / sqrt(d_k)) V   (3.2.1)
- ``MultiHeadAttention``: h heads with W_q, W_k, W_v and W_o                               (3.2.2)
- ``FeedForward``: FFN(x) = act(x W_1 + b_1) W_2 + b_2, applied at every position          (3.3)
- ``sinusoidal_table`` / ``TokenAndPositionEmbedding``: embeddings * sqrt(d_model) + PE    (3.4, 3.5)
- ``EncoderLayer`` / ``DecoderLayer``: sublayers wrapped in residual + LayerNorm (Add & Norm)  (3.1)
- ``padding_mask`` / ``causal_mask``: which keys a query may look at

Axes used in the shape comments:
    B batch, T query length, S key length, D d_model, H heads, Dh head dim (D / H), F d_ff
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers.activations import ACT2FN
from transformers.cache_utils import Cache, EncoderDecoderCache
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

# ----------------------------------------------------------------------------------------------
# Masks. A mask is built as booleans, shape (B, 1, T, S), True where a query may attend to a key,
# combined with & (padding and causal), and turned once per forward into the additive form the
# attention adds to its scores: 0 where allowed, the dtype's minimum where hidden. Combining
# booleans never adds two minima into -inf, and a fully padded row stays finite.
# ----------------------------------------------------------------------------------------------


def padding_mask(attention_mask: torch.Tensor, query_length: int) -> torch.Tensor:
    """Keys that are padding (attention_mask == 0) are hidden from every query.

    attention_mask: (B, S) of 0/1  ->  (B, 1, T, S) bool
    """
    keep = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, S)
    return keep.expand(-1, 1, query_length, -1)


def causal_mask(query_length: int, key_length: int, device: torch.device) -> torch.Tensor:
    """Masked self-attention: query i sees keys 0..i only, never the future.

    With a cache the keys also hold the S - T earlier tokens, so query i sits at position S - T + i.
    Returns (1, 1, T, S) bool.
    """
    past = key_length - query_length
    query_positions = torch.arange(past, key_length, device=device)[:, None]  # (T, 1)
    key_positions = torch.arange(key_length, device=device)[None, :]  # (1, S)
    return (key_positions <= query_positions)[None, None]


def additive_mask(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    """bool (B, 1, T, S) -> 0 where allowed, the minimum of the scores' dtype where hidden.

    The scores are in autocast's dtype when autocast is on (bf16's minimum is not float32's), else in
    the dtype of ``like`` (the hidden states).
    """
    if mask is None:
        return None
    device_type = like.device.type
    dtype = torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else like.dtype
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, torch.finfo(dtype).min)


def padding_mask_or_none(attention_mask: torch.Tensor | None, query_length: int) -> torch.Tensor | None:
    """``padding_mask``, or None when nothing is padding: the fused attention kernels run faster unmasked."""
    if attention_mask is None:
        return None
    if not torch.compiler.is_compiling() and bool(attention_mask.all()):
        return None
    return padding_mask(attention_mask, query_length)


def check_token_ids(
    ids: torch.Tensor, vocab_size: int, name: str, max_positions: int | None = None, past_length: int = 0
) -> None:
    """Reject ids an embedding lookup would fail on (or silently misread), before any tensor op runs."""
    if torch.compiler.is_compiling():
        return
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer token ids, got dtype {ids.dtype}")
    if ids.dim() != 2:
        raise ValueError(f"{name} must have shape (batch, sequence_length), got {tuple(ids.shape)}")
    if ids.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(ids.shape)}): give at least one token per row")
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= vocab_size:
        raise ValueError(f"{name} must be in [0, vocab_size={vocab_size}), got values from {low} to {high}")
    if max_positions is not None and past_length + ids.shape[1] > max_positions:
        raise ValueError(
            f"{name} is {past_length + ids.shape[1]} tokens long (with {past_length} cached), "
            f"more than max_position_embeddings={max_positions}"
        )


def check_attention_mask(mask: torch.Tensor | None, expected_shape: tuple, name: str) -> None:
    """A padding mask must be 0/1 with exactly one entry per token."""
    if mask is None or torch.compiler.is_compiling():
        return
    if tuple(mask.shape) != tuple(expected_shape):
        raise ValueError(f"{name} must have shape {tuple(expected_shape)} (one 0/1 per token), got {tuple(mask.shape)}")
    if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"{name} must contain only 0 (padding) and 1 (token), got dtype {mask.dtype} with other values")


# ----------------------------------------------------------------------------------------------
# Fast path: packed tokens. In a padded batch the per-token layers (projections, feed-forward,
# LayerNorm: nearly all the FLOPs) would also run on the padding. Packing keeps the N real tokens
# only, (B, T, D) -> (N, D); attention then runs one sequence at a time (no padding, so no mask),
# and every token still sees exactly the keys of its own sequence. Same numbers for the real tokens.
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackedTokens:
    """The N real tokens of a padded (B, T) batch, row after row; ``pack`` drops the padding, ``unpack`` restores it."""

    indices: torch.Tensor  # (N,) flat positions b * T + t of the real tokens
    lengths: tuple[int, ...]  # real tokens of each row that has any; they sum to N
    batch: int  # B
    length: int  # T

    @classmethod
    def from_attention_mask(cls, attention_mask: torch.Tensor) -> PackedTokens:  # (B, T) of 0/1
        indices = attention_mask.flatten().nonzero().squeeze(1)  # (N,)
        lengths = tuple(n for n in attention_mask.sum(dim=1).tolist() if n > 0)
        return cls(indices, lengths, attention_mask.shape[0], attention_mask.shape[1])

    def pack(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, ...) -> (N, ...)
        return x.flatten(0, 1).index_select(0, self.indices)

    def unpack(self, x: torch.Tensor) -> torch.Tensor:  # (N, ...) -> (B, T, ...), zeros at the padding
        padded = x.new_zeros(self.batch * self.length, *x.shape[1:]).index_copy(0, self.indices, x)
        return padded.view(self.batch, self.length, *x.shape[1:])


# ----------------------------------------------------------------------------------------------
# Attention
# ----------------------------------------------------------------------------------------------


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,  # (B, H, T, Dh)
    key: torch.Tensor,  # (B, H, S, Dh)
    value: torch.Tensor,  # (B, H, S, Dh)
    attention_mask: torch.Tensor | None,  # (B, 1, T, S) additive, or None
    scaling: float,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention, written out: softmax(Q K^T / sqrt(d_k) + mask) V.

    Dividing by sqrt(d_k) keeps the dot products from growing with the head size and pushing the
    softmax into regions with vanishing gradients (paper, 3.2.1).
    Returns the output (B, T, H, Dh) and the attention weights (B, H, T, S).
    """
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling  # (B, H, T, S)
    if attention_mask is not None:
        scores = scores + attention_mask
    weights = torch.softmax(scores, dim=-1)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    output = torch.matmul(weights, value)  # (B, H, T, Dh)
    return output.transpose(1, 2).contiguous(), weights  # (B, T, H, Dh)


class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W_o, head_i = Attention(Q W_q^i, K W_k^i, V W_v^i).

    Self-attention when ``key_value_states`` is None (keys and values come from the same sequence),
    cross-attention (encoder-decoder attention) when it holds the encoder output: queries from the
    decoder, keys and values from the source sentence.
    """

    def __init__(
        self,
        config,
        d_model: int,
        num_heads: int,
        attention_dropout: float = 0.0,
        layer_idx: int | None = None,
        is_causal: bool = False,
    ):
        super().__init__()
        self.config = config  # read for config._attn_implementation ("eager", "sdpa", ...)
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads  # d_k = d_v = d_model / h
        self.scaling = self.head_dim**-0.5  # 1 / sqrt(d_k)
        self.dropout = attention_dropout
        self.layer_idx = layer_idx  # which slot of the KV cache belongs to this layer
        self.is_causal = is_causal  # read by transformers' SDPA function when no mask is given
        self.q_proj = nn.Linear(d_model, d_model)  # W_q for all heads at once
        self.k_proj = nn.Linear(d_model, d_model)  # W_k
        self.v_proj = nn.Linear(d_model, d_model)  # W_v
        self.o_proj = nn.Linear(d_model, d_model)  # W_o

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, L, Dh)

    def forward_packed(self, hidden_states: torch.Tensor, packed: PackedTokens) -> torch.Tensor:
        """Fast path, self-attention of packed tokens: (N, D) -> (N, D).

        The projections run on the N real tokens at once; attention runs one sequence at a time, where no
        key is padding, so it needs no mask. Every real token gets the numbers of the padded path.
        """
        attention = ALL_ATTENTION_FUNCTIONS.get_interface(self.config._attn_implementation, eager_attention_forward)
        projections = (self.q_proj, self.k_proj, self.v_proj)
        queries, keys, values = (proj(hidden_states).split(packed.lengths) for proj in projections)  # (L_b, D) each
        dropout = self.dropout if self.training else 0.0
        outputs = []
        for query, key, value in zip(queries, keys, values):
            query, key, value = (self._split_heads(x[None]) for x in (query, key, value))  # (1, H, L_b, Dh)
            output, _ = attention(self, query, key, value, None, scaling=self.scaling, dropout=dropout)
            outputs.append(output.flatten(2)[0])  # (1, L_b, H, Dh) -> (L_b, D)
        return self.o_proj(torch.cat(outputs))  # (N, D)

    def forward(
        self,
        hidden_states: torch.Tensor,  # (B, T, D)
        attention_mask: torch.Tensor | None = None,  # (B, 1, T, S) additive: 0 or the dtype's minimum
        key_value_states: torch.Tensor | None = None,  # (B, S, D) encoder output for cross-attention
        past_key_values: Cache | None = None,
        output_attentions: bool = False,
        packed: PackedTokens | None = None,  # fast path: hidden_states are the (N, D) real tokens of a batch
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if packed is not None:
            return self.forward_packed(hidden_states, packed), None
        is_cross = key_value_states is not None
        query = self._split_heads(self.q_proj(hidden_states))  # (B, H, T, Dh)

        # Pick the cache this attention writes to: decoder self-attention appends one step at a time,
        # cross-attention stores the projected encoder output once and reuses it at every step.
        cache = past_key_values
        if isinstance(past_key_values, EncoderDecoderCache):
            cache = past_key_values.cross_attention_cache if is_cross else past_key_values.self_attention_cache

        if is_cross and cache is not None and past_key_values.is_updated.get(self.layer_idx, False):
            key, value = cache.layers[self.layer_idx].keys, cache.layers[self.layer_idx].values  # (B, H, S, Dh)
        else:
            source = key_value_states if is_cross else hidden_states
            key = self._split_heads(self.k_proj(source))  # (B, H, S, Dh)
            value = self._split_heads(self.v_proj(source))
            if cache is not None:
                key, value = cache.update(key, value, self.layer_idx)  # (B, H, S_past + S, Dh)
                if is_cross:
                    past_key_values.is_updated[self.layer_idx] = True

        implementation = self.config._attn_implementation
        if output_attentions:
            implementation = "eager"  # the fused kernels never form the weights; the written-out path does
        attention = ALL_ATTENTION_FUNCTIONS.get_interface(implementation, eager_attention_forward)
        output, weights = attention(
            self,
            query,
            key,
            value,
            attention_mask,
            scaling=self.scaling,
            dropout=self.dropout if self.training else 0.0,
        )  # (B, T, H, Dh)
        output = output.reshape(*hidden_states.shape[:-1], -1)  # concatenate the heads: (B, T, D)
        return self.o_proj(output), weights


# The same functions as ACT2FN's "gelu" (exact, erf) and "relu", writing into their input.
IN_PLACE_ACTIVATIONS = {"gelu": torch.ops.aten.gelu_, "relu": torch.relu_}


class FeedForward(nn.Module):
    """Position-wise feed-forward network: FFN(x) = act(x W_1 + b_1) W_2 + b_2 (paper, 3.3).

    The same two linear maps at every position, d_model -> d_ff -> d_model.
    Without autograd (inference), the activation overwrites fc1's output (as torchvision's
    ``ReLU(inplace=True)`` does): a forward hook on ``fc1`` that keeps its output should keep a clone.
    """

    def __init__(self, d_model: int, d_ff: int, activation: str, activation_dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff)  # W_1
        self.fc2 = nn.Linear(d_ff, d_model)  # W_2
        self.activation = ACT2FN[activation]
        self.activation_in_place = IN_PLACE_ACTIVATIONS.get(activation)
        self.activation_dropout = activation_dropout

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, T, D)
        hidden_states = self.fc1(hidden_states)  # (B, T, F)
        if hidden_states.requires_grad or self.activation_in_place is None:
            hidden_states = self.activation(hidden_states)
        else:
            # Inference: nothing needs x W_1 + b_1 once act() of it is known, so overwrite it. A fresh
            # (B, T, F) buffer would cost the page faults of first touching it, which on a CPU are as slow
            # as the activation itself (ViT inference: a quarter of the step; benchmarks/README.md).
            self.activation_in_place(hidden_states)
        hidden_states = nn.functional.dropout(hidden_states, p=self.activation_dropout, training=self.training)
        return self.fc2(hidden_states)


# ----------------------------------------------------------------------------------------------
# Positions
# ----------------------------------------------------------------------------------------------


def sinusoidal_table(num_positions: int, dim: int, layout: str = "interleaved") -> torch.Tensor:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d))   (paper, 3.5).

    Each pair of dimensions is a sine and a cosine of one frequency, so PE(pos + k) is a linear
    function of PE(pos): relative offsets are easy to attend to. Computed in float64, returned in
    float32. ``layout="interleaved"`` is the paper (sin, cos, sin, cos, ...); ``"halves"`` puts all
    sines first and all cosines after, the layout Marian checkpoints use (the same numbers).
    Returns (num_positions, dim).
    """
    position = torch.arange(num_positions, dtype=torch.float64)[:, None]  # (P, 1)
    two_i = torch.arange(0, dim, 2, dtype=torch.float64)  # 2i = 0, 2, 4, ...
    angle = position / torch.pow(10000.0, two_i / dim)  # (P, ceil(dim / 2))
    sin, cos = torch.sin(angle), torch.cos(angle)[:, : dim // 2]
    if layout == "interleaved":
        table = torch.zeros(num_positions, dim, dtype=torch.float64)
        table[:, 0::2] = sin
        table[:, 1::2] = cos
    elif layout == "halves":
        table = torch.cat([sin, cos], dim=1)
    else:
        raise ValueError(f"sinusoidal layout must be 'interleaved' or 'halves', got {layout!r}")
    return table.float()


class TokenAndPositionEmbedding(nn.Module):
    """Input embedding of the encoder or decoder: token embedding * sqrt(d_model) + positional encoding.

    ``position_embedding_type``: "sinusoidal" (fixed table, the paper) or "learned" (a trained table).
    The sinusoid table is a non-persistent buffer: it is not saved and is rebuilt in ``_init_weights``.
    """

    def __init__(self, config, embed_tokens: nn.Embedding):
        super().__init__()
        self.config = config
        self.embed_tokens = embed_tokens  # shared with the other side and the output layer when tied
        self.embed_scale = math.sqrt(config.d_model) if config.scale_embedding else 1.0
        self.max_positions = config.max_position_embeddings
        if config.position_embedding_type == "learned":
            self.embed_positions = nn.Embedding(config.max_position_embeddings, config.d_model)
        else:
            self.register_buffer("sinusoids", self.build_sinusoids(), persistent=False)
        self.dropout = config.dropout

    def build_sinusoids(self) -> torch.Tensor:
        return sinusoidal_table(self.max_positions, self.config.d_model, self.config.sinusoidal_layout)

    def forward(self, input_ids: torch.Tensor, past_length: int = 0) -> torch.Tensor:  # (B, T) -> (B, T, D)
        length = input_ids.shape[1]
        positions = torch.arange(past_length, past_length + length, device=input_ids.device)  # (T,)
        if self.config.position_embedding_type == "learned":
            position_encoding = self.embed_positions(positions)
        else:
            position_encoding = self.sinusoids[positions]
        hidden_states = self.embed_tokens(input_ids) * self.embed_scale + position_encoding  # (B, T, D)
        return nn.functional.dropout(hidden_states, p=self.dropout, training=self.training)


# ----------------------------------------------------------------------------------------------
# Layers: each sublayer is x -> LayerNorm(x + Sublayer(x)) (post-LN, the paper),
# or x -> x + Sublayer(LayerNorm(x)) (pre-LN, ViT and most modern models).
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerSpec:
    """The sizes and switches of one encoder or decoder layer; each family fills it from its config."""

    d_model: int  # width of every token vector
    num_heads: int  # h
    d_ff: int  # inner width of the feed-forward network
    activation: str  # name in transformers' ACT2FN: "relu" (paper), "gelu" (BERT, ViT), ...
    dropout: float  # P_drop on every sublayer output before the residual add
    attention_dropout: float  # dropout on the attention weights
    activation_dropout: float  # dropout inside the feed-forward network
    pre_norm: bool  # False: post-LN (the paper, BERT); True: pre-LN (ViT)
    layer_norm_eps: float


class EncoderLayer(GradientCheckpointingLayer):
    """Self-attention, then the feed-forward network, each with Add & Norm (paper, 3.1).

    BERT's and ViT's layers are this same layer (post-LN and pre-LN respectively).
    """

    def __init__(self, config, spec: LayerSpec):
        super().__init__()
        self.pre_norm = spec.pre_norm
        self.dropout = spec.dropout
        self.self_attn = MultiHeadAttention(config, spec.d_model, spec.num_heads, spec.attention_dropout)
        self.self_attn_layer_norm = nn.LayerNorm(spec.d_model, eps=spec.layer_norm_eps)
        self.mlp = FeedForward(spec.d_model, spec.d_ff, spec.activation, spec.activation_dropout)
        self.final_layer_norm = nn.LayerNorm(spec.d_model, eps=spec.layer_norm_eps)

    def forward(
        self,
        hidden_states: torch.Tensor,  # (B, S, D), or (N, D) with ``packed``
        attention_mask: torch.Tensor | None = None,  # (B, 1, S, S) additive (see additive_mask)
        output_attentions: bool = False,
        packed: PackedTokens | None = None,  # fast path: the real tokens only (see PackedTokens)
        cls_only: bool = False,  # the last layer of a [CLS] classifier: compute the first token's output only
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        # Sublayer 1: multi-head self-attention, then Add & Norm.
        residual = hidden_states
        if self.pre_norm:
            hidden_states = self.self_attn_layer_norm(hidden_states)
        if cls_only:
            # Only [CLS] asks the question (one query), every token still answers (all keys and values);
            # after attention each token is processed on its own, so the others need no more work.
            # (B, 1, D) out: the same numbers as row 0 of the full layer.
            if attention_mask is not None:
                attention_mask = attention_mask[:, :, :1]  # (B, 1, 1, S)
            residual = residual[:, :1]
            hidden_states, weights = self.self_attn(
                hidden_states[:, :1], attention_mask, key_value_states=hidden_states
            )
        else:
            hidden_states, weights = self.self_attn(
                hidden_states, attention_mask, output_attentions=output_attentions, packed=packed
            )
        hidden_states = residual + nn.functional.dropout(hidden_states, p=self.dropout, training=self.training)
        if not self.pre_norm:
            hidden_states = self.self_attn_layer_norm(hidden_states)

        # Sublayer 2: position-wise feed-forward, then Add & Norm.
        residual = hidden_states
        if self.pre_norm:
            hidden_states = self.final_layer_norm(hidden_states)
        hidden_states = self.mlp(hidden_states)
        hidden_states = residual + nn.functional.dropout(hidden_states, p=self.dropout, training=self.training)
        if not self.pre_norm:
            hidden_states = self.final_layer_norm(hidden_states)
        return hidden_states, weights


class DecoderLayer(GradientCheckpointingLayer):
    """Masked self-attention, encoder-decoder (cross) attention, feed-forward; each with Add & Norm.

    Without an encoder (``has_cross_attention=False``) it is a GPT-style decoder block.
    """

    def __init__(self, config, spec: LayerSpec, layer_idx: int, has_cross_attention: bool = True):
        super().__init__()
        self.pre_norm = spec.pre_norm
        self.dropout = spec.dropout
        self.self_attn = MultiHeadAttention(
            config, spec.d_model, spec.num_heads, spec.attention_dropout, layer_idx, is_causal=True
        )
        self.self_attn_layer_norm = nn.LayerNorm(spec.d_model, eps=spec.layer_norm_eps)
        if has_cross_attention:
            self.encoder_attn = MultiHeadAttention(
                config, spec.d_model, spec.num_heads, spec.attention_dropout, layer_idx
            )
            self.encoder_attn_layer_norm = nn.LayerNorm(spec.d_model, eps=spec.layer_norm_eps)
        self.mlp = FeedForward(spec.d_model, spec.d_ff, spec.activation, spec.activation_dropout)
        self.final_layer_norm = nn.LayerNorm(spec.d_model, eps=spec.layer_norm_eps)

    def forward(
        self,
        hidden_states: torch.Tensor,  # (B, T, D)
        self_attention_mask: torch.Tensor | None = None,  # (B, 1, T, S_past + T) additive: causal and padding
        encoder_hidden_states: torch.Tensor | None = None,  # (B, S, D)
        encoder_attention_mask: torch.Tensor | None = None,  # (B, 1, T, S) additive: source padding
        past_key_values: Cache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        # Sublayer 1: masked multi-head self-attention (a position never sees the ones after it).
        residual = hidden_states
        if self.pre_norm:
            hidden_states = self.self_attn_layer_norm(hidden_states)
        hidden_states, self_weights = self.self_attn(
            hidden_states, self_attention_mask, past_key_values=past_key_values, output_attentions=output_attentions
        )
        hidden_states = residual + nn.functional.dropout(hidden_states, p=self.dropout, training=self.training)
        if not self.pre_norm:
            hidden_states = self.self_attn_layer_norm(hidden_states)

        # Sublayer 2: encoder-decoder attention (queries from the decoder, keys and values from the encoder).
        cross_weights = None
        if encoder_hidden_states is not None:
            residual = hidden_states
            if self.pre_norm:
                hidden_states = self.encoder_attn_layer_norm(hidden_states)
            hidden_states, cross_weights = self.encoder_attn(
                hidden_states,
                encoder_attention_mask,
                key_value_states=encoder_hidden_states,
                past_key_values=past_key_values,
                output_attentions=output_attentions,
            )
            hidden_states = residual + nn.functional.dropout(hidden_states, p=self.dropout, training=self.training)
            if not self.pre_norm:
                hidden_states = self.encoder_attn_layer_norm(hidden_states)

        # Sublayer 3: position-wise feed-forward.
        residual = hidden_states
        if self.pre_norm:
            hidden_states = self.final_layer_norm(hidden_states)
        hidden_states = self.mlp(hidden_states)
        hidden_states = residual + nn.functional.dropout(hidden_states, p=self.dropout, training=self.training)
        if not self.pre_norm:
            hidden_states = self.final_layer_norm(hidden_states)
        return hidden_states, self_weights, cross_weights
