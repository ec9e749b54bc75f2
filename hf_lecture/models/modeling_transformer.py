"""The encoder-decoder Transformer of "Attention Is All You Need" (Vaswani et al., 2017).

    source ids -> Encoder (N x [self-attention, FFN]) -> memory
    target ids (shifted right) -> Decoder (N x [masked self-attention, cross-attention on memory, FFN])
        -> Linear -> softmax over the vocabulary

Classes:
- ``LectureTransformerModel``: encoder + decoder, returns the decoder's hidden states.
- ``LectureTransformerForConditionalGeneration``: adds the output projection, the cross-entropy loss,
  and ``generate()`` (greedy, beam search, sampling) through transformers' GenerationMixin.
- ``LectureTransformerForCausalLM``: the decoder stack alone (no cross-attention), a GPT-style LM.

Axes: B batch, S source length, T target length, D d_model, V vocabulary.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.cache_utils import Cache, DynamicCache, EncoderDecoderCache
from transformers.generation import GenerationMixin
from transformers.modeling_outputs import (
    BaseModelOutput,
    BaseModelOutputWithPastAndCrossAttentions,
    CausalLMOutputWithCrossAttentions,
    Seq2SeqLMOutput,
    Seq2SeqModelOutput,
)

from .configuration_transformer import LectureTransformerConfig
from .layers import (
    DecoderLayer,
    EncoderLayer,
    LayerSpec,
    TokenAndPositionEmbedding,
    additive_mask,
    causal_mask,
    check_attention_mask,
    check_token_ids,
    padding_mask_or_none,
)
from .saving import SavingMixin


def shift_tokens_right(labels: torch.Tensor, pad_token_id: int, decoder_start_token_id: int) -> torch.Tensor:
    """Teacher forcing: the decoder reads <start> y_1 ... y_{T-1} and is trained to predict y_1 ... y_T.

    labels (B, T) -> decoder_input_ids (B, T); ignored label positions (-100) become padding.
    """
    decoder_input_ids = labels.new_full(labels.shape, decoder_start_token_id)
    decoder_input_ids[:, 1:] = labels[:, :-1]
    return decoder_input_ids.masked_fill(decoder_input_ids == -100, pad_token_id)


def _layer_spec(config: LectureTransformerConfig, side: str) -> LayerSpec:
    return LayerSpec(
        d_model=config.d_model,
        num_heads=getattr(config, f"{side}_attention_heads"),
        d_ff=getattr(config, f"{side}_ffn_dim"),
        activation=config.activation_function,
        dropout=config.dropout,
        attention_dropout=config.attention_dropout,
        activation_dropout=config.activation_dropout,
        pre_norm=config.normalize_before,
        layer_norm_eps=config.layer_norm_eps,
    )


class LectureTransformerPreTrainedModel(SavingMixin, PreTrainedModel):
    config_class = LectureTransformerConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _can_compile_fullgraph = False
    _no_split_modules = ["EncoderLayer", "DecoderLayer"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)  # normal(0, init_std) for Linear / Embedding, ones / zeros for LayerNorm
        if isinstance(module, TokenAndPositionEmbedding) and hasattr(module, "sinusoids"):
            init.copy_(module.sinusoids, module.build_sinusoids())  # not saved: rebuilt on every load
        if getattr(module, "final_logits_bias", None) is not None:
            init.zeros_(module.final_logits_bias)

    def _validate_generation_mode(self, generation_mode, generation_config, generation_mode_kwargs) -> None:
        """generate()'s own checks, plus one transformers lacks: num_beams=0 would divide by zero later."""
        if generation_config.num_beams is not None and generation_config.num_beams < 1:
            raise ValueError(f"generate(): num_beams must be >= 1, got {generation_config.num_beams}")
        super()._validate_generation_mode(generation_mode, generation_config, generation_mode_kwargs)


class LectureTransformerEncoder(nn.Module):
    """N identical layers of self-attention + feed-forward over the source sentence (paper, 3.1)."""

    def __init__(self, config: LectureTransformerConfig, embed_tokens: nn.Embedding):
        super().__init__()
        self.config = config
        self.embeddings = TokenAndPositionEmbedding(config, embed_tokens)
        spec = _layer_spec(config, "encoder")
        self.layers = nn.ModuleList([EncoderLayer(config, spec) for _ in range(config.encoder_layers)])
        # pre-LN leaves the last residual stream un-normalised: one more LayerNorm closes the stack.
        self.layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.normalize_before else None

    def forward(
        self,
        input_ids: torch.Tensor,  # (B, S)
        attention_mask: torch.Tensor | None = None,  # (B, S), 1 = real token, 0 = padding
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        **kwargs,
    ) -> BaseModelOutput:
        check_token_ids(input_ids, self.config.vocab_size, "input_ids", self.config.max_position_embeddings)
        check_attention_mask(attention_mask, input_ids.shape, "attention_mask")
        hidden_states = self.embeddings(input_ids)  # (B, S, D)
        mask = additive_mask(padding_mask_or_none(attention_mask, input_ids.shape[1]), hidden_states)

        all_hidden_states, all_attentions = [], []
        for layer in self.layers:
            if output_hidden_states:  # else keep no reference: each layer's memory is reused
                all_hidden_states.append(hidden_states)
            hidden_states, weights = layer(hidden_states, mask, output_attentions=output_attentions)
            all_attentions.append(weights)
        if self.layer_norm is not None:
            hidden_states = self.layer_norm(hidden_states)
        if output_hidden_states:
            all_hidden_states.append(hidden_states)
        return BaseModelOutput(
            last_hidden_state=hidden_states,
            hidden_states=tuple(all_hidden_states) if output_hidden_states else None,
            attentions=tuple(all_attentions) if output_attentions else None,
        )


class LectureTransformerDecoder(nn.Module):
    """N layers of masked self-attention, cross-attention on the encoder output, and feed-forward (3.1).

    ``has_cross_attention=False`` gives the decoder-only stack of ``LectureTransformerForCausalLM``.
    """

    def __init__(self, config: LectureTransformerConfig, embed_tokens: nn.Embedding, has_cross_attention: bool = True):
        super().__init__()
        self.config = config
        self.embeddings = TokenAndPositionEmbedding(config, embed_tokens)
        spec = _layer_spec(config, "decoder")
        self.layers = nn.ModuleList(
            [DecoderLayer(config, spec, layer_idx, has_cross_attention) for layer_idx in range(config.decoder_layers)]
        )
        self.layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.normalize_before else None

    def forward(
        self,
        input_ids: torch.Tensor,  # (B, T): only the new tokens when a cache holds the earlier ones
        attention_mask: torch.Tensor | None = None,  # (B, T_past + T) target padding
        encoder_hidden_states: torch.Tensor | None = None,  # (B, S, D)
        encoder_attention_mask: torch.Tensor | None = None,  # (B, S) source padding
        past_key_values: Cache | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        input_name: str = "decoder_input_ids",  # what error messages call input_ids (the causal LM's "input_ids")
    ) -> BaseModelOutputWithPastAndCrossAttentions:
        past_length = past_key_values.get_seq_length() if past_key_values is not None else 0
        check_token_ids(input_ids, self.config.vocab_size, input_name, self.config.max_position_embeddings, past_length)
        batch, length = input_ids.shape
        mask_name = "decoder_attention_mask" if input_name == "decoder_input_ids" else "attention_mask"
        check_attention_mask(attention_mask, (batch, past_length + length), mask_name)
        hidden_states = self.embeddings(input_ids, past_length)  # (B, T, D)

        # Masked self-attention: causal (no peeking at later target tokens), and no attending to padding.
        # A single new token may see every cached one, so it needs no causal mask.
        self_mask = causal_mask(length, past_length + length, input_ids.device) if length > 1 else None
        pad = padding_mask_or_none(attention_mask, length)
        if pad is not None:
            self_mask = pad if self_mask is None else self_mask & pad
        elif past_length == 0 and self.config._attn_implementation == "sdpa" and not output_attentions:
            self_mask = None  # purely causal: SDPA applies the same mask itself (is_causal), with a faster kernel
        self_mask = additive_mask(self_mask, hidden_states)
        cross_mask = None
        if encoder_hidden_states is not None:
            cross_mask = additive_mask(padding_mask_or_none(encoder_attention_mask, length), hidden_states)

        all_hidden_states, all_self, all_cross = [], [], []
        for layer in self.layers:
            if output_hidden_states:  # else keep no reference: each layer's memory is reused
                all_hidden_states.append(hidden_states)
            hidden_states, self_weights, cross_weights = layer(
                hidden_states,
                self_mask,
                encoder_hidden_states,
                cross_mask,
                past_key_values=past_key_values,
                output_attentions=output_attentions,
            )
            all_self.append(self_weights)
            all_cross.append(cross_weights)
        if self.layer_norm is not None:
            hidden_states = self.layer_norm(hidden_states)
        if output_hidden_states:
            all_hidden_states.append(hidden_states)
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden_states,
            past_key_values=past_key_values,
            hidden_states=tuple(all_hidden_states) if output_hidden_states else None,
            attentions=tuple(all_self) if output_attentions else None,
            cross_attentions=tuple(all_cross) if output_attentions and encoder_hidden_states is not None else None,
        )


def _as_encoder_output(encoder_outputs) -> BaseModelOutput:
    if isinstance(encoder_outputs, BaseModelOutput):
        return encoder_outputs
    return BaseModelOutput(*encoder_outputs)  # a tuple (last_hidden_state, hidden_states, attentions)


class LectureTransformerModel(LectureTransformerPreTrainedModel):
    """Encoder + decoder; returns the decoder's last hidden states (no output projection)."""

    def __init__(self, config: LectureTransformerConfig):
        super().__init__(config)
        self.shared = nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)
        if config.share_encoder_decoder_embeddings:  # one matrix for both languages (paper, 3.4)
            self._tied_weights_keys = {
                "encoder.embeddings.embed_tokens.weight": "shared.weight",
                "decoder.embeddings.embed_tokens.weight": "shared.weight",
            }
            decoder_embed_tokens = self.shared
        else:
            decoder_embed_tokens = nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)
        self.encoder = LectureTransformerEncoder(config, self.shared)
        self.decoder = LectureTransformerDecoder(config, decoder_embed_tokens)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.shared

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.shared = value
        self.encoder.embeddings.embed_tokens = value
        if self.config.share_encoder_decoder_embeddings:
            self.decoder.embeddings.embed_tokens = value

    def get_encoder(self) -> LectureTransformerEncoder:
        return self.encoder

    def forward(
        self,
        input_ids: torch.Tensor | None = None,  # (B, S)
        attention_mask: torch.Tensor | None = None,  # (B, S)
        decoder_input_ids: torch.Tensor | None = None,  # (B, T)
        decoder_attention_mask: torch.Tensor | None = None,  # (B, T_past + T)
        encoder_outputs: BaseModelOutput | tuple | None = None,
        past_key_values: Cache | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> Seq2SeqModelOutput | tuple:
        output_attentions = self.config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        use_cache = self.config.use_cache if use_cache is None else use_cache
        return_dict = self.config.return_dict if return_dict is None else return_dict
        if decoder_input_ids is None:
            raise ValueError("decoder_input_ids (or labels, on the ForConditionalGeneration model) must be given")

        if encoder_outputs is None:
            if input_ids is None:
                raise ValueError("input_ids (the source sentence) or encoder_outputs must be given")
            encoder_outputs = self.encoder(input_ids, attention_mask, output_attentions, output_hidden_states)
        encoder_outputs = _as_encoder_output(encoder_outputs)
        if decoder_input_ids.shape[0] != encoder_outputs.last_hidden_state.shape[0]:
            raise ValueError(
                f"decoder_input_ids has {decoder_input_ids.shape[0]} rows but the source batch has "
                f"{encoder_outputs.last_hidden_state.shape[0]}: give one target row per source sentence"
            )

        if use_cache and past_key_values is None:
            past_key_values = EncoderDecoderCache(DynamicCache(), DynamicCache())
        decoder_outputs = self.decoder(
            decoder_input_ids,
            decoder_attention_mask,
            encoder_outputs.last_hidden_state,
            attention_mask,
            past_key_values=past_key_values if use_cache else None,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        outputs = Seq2SeqModelOutput(
            last_hidden_state=decoder_outputs.last_hidden_state,
            past_key_values=decoder_outputs.past_key_values,
            decoder_hidden_states=decoder_outputs.hidden_states,
            decoder_attentions=decoder_outputs.attentions,
            cross_attentions=decoder_outputs.cross_attentions,
            encoder_last_hidden_state=encoder_outputs.last_hidden_state,
            encoder_hidden_states=encoder_outputs.hidden_states,
            encoder_attentions=encoder_outputs.attentions,
        )
        return outputs if return_dict else outputs.to_tuple()


def lm_loss(
    logits: torch.Tensor,  # (B, T, V)
    labels: torch.Tensor,  # (B, T), -100 = ignored
    label_smoothing: float,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy of the softmax over the vocabulary, averaged over the label tokens.

    Trainer passes ``num_items_in_batch``, the count of label tokens in the whole accumulated (and, with
    several processes, gathered) batch; dividing the sum by it makes a step on 2B tokens and two accumulated
    steps on B each give the same loss and gradients.
    """
    loss = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(),
        labels.reshape(-1),
        ignore_index=-100,
        reduction="sum",
        label_smoothing=label_smoothing,
    )
    if num_items_in_batch is None:
        num_items_in_batch = (labels != -100).sum()
    # A batch without any label token (all -100) gives a loss of 0, not 0 / 0 = NaN.
    return loss / torch.as_tensor(num_items_in_batch, device=loss.device).clamp(min=1)


class LectureTransformerForConditionalGeneration(LectureTransformerPreTrainedModel, GenerationMixin):
    """Encoder-decoder with the output layer: Linear(d_model -> V) then softmax, trained with cross-entropy."""

    def __init__(self, config: LectureTransformerConfig):
        super().__init__(config)
        self.model = LectureTransformerModel(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)  # the pre-softmax linear map
        # Tie the output layer to the target embeddings (paper, 3.4); `tie_word_embeddings` switches it off.
        if config.share_encoder_decoder_embeddings:
            self._tied_weights_keys = {
                "lm_head.weight": "model.shared.weight",
                "model.encoder.embeddings.embed_tokens.weight": "model.shared.weight",
                "model.decoder.embeddings.embed_tokens.weight": "model.shared.weight",
            }
        else:
            self._tied_weights_keys = {"lm_head.weight": "model.decoder.embeddings.embed_tokens.weight"}
        if config.add_final_logits_bias:
            self.register_buffer("final_logits_bias", torch.zeros(1, config.vocab_size))
        else:
            self.final_logits_bias = None
        self.post_init()

    def get_encoder(self) -> LectureTransformerEncoder:
        return self.model.encoder

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head = value

    def prepare_decoder_input_ids_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return shift_tokens_right(labels, self.config.pad_token_id, self.config.decoder_start_token_id)

    @staticmethod
    def _reorder_cache(past_key_values: Cache, beam_idx: torch.Tensor) -> Cache:
        """Beam search keeps the beams it extends: the decoder's self-attention cache follows them.

        The cross-attention keys and values are the projected source sentence, the same for every beam
        of that sentence, and ``beam_idx`` only ever picks beams of the same sentence: they stay as they are
        (generate() calls this hook instead of reordering both caches).
        """
        if isinstance(past_key_values, EncoderDecoderCache):
            past_key_values.self_attention_cache.reorder_cache(beam_idx)
        else:
            past_key_values.reorder_cache(beam_idx)
        return past_key_values

    def forward(
        self,
        input_ids: torch.Tensor | None = None,  # (B, S)
        attention_mask: torch.Tensor | None = None,  # (B, S)
        decoder_input_ids: torch.Tensor | None = None,  # (B, T)
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_outputs: BaseModelOutput | tuple | None = None,
        past_key_values: Cache | None = None,
        labels: torch.Tensor | None = None,  # (B, T) target ids, -100 where ignored
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        num_items_in_batch: int | torch.Tensor | None = None,
        **kwargs,
    ) -> Seq2SeqLMOutput | tuple:
        return_dict = self.config.return_dict if return_dict is None else return_dict
        if labels is not None:
            check_token_ids(labels.masked_fill(labels == -100, 0), self.config.vocab_size, "labels")
            use_cache = False  # training sees whole target sentences; nothing to cache
            if decoder_input_ids is None:
                decoder_input_ids = self.prepare_decoder_input_ids_from_labels(labels)
            if labels.shape != decoder_input_ids.shape:
                raise ValueError(
                    f"labels must have the shape of decoder_input_ids {tuple(decoder_input_ids.shape)} "
                    f"(one target per decoder position), got {tuple(labels.shape)}"
                )
        outputs = self.model(
            input_ids,
            attention_mask,
            decoder_input_ids,
            decoder_attention_mask,
            encoder_outputs=encoder_outputs,
            past_key_values=past_key_values,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        logits = self.lm_head(outputs.last_hidden_state)  # (B, T, V)
        if self.final_logits_bias is not None:
            logits = logits + self.final_logits_bias
        loss = None
        if labels is not None:
            loss = lm_loss(logits, labels, self.config.label_smoothing, num_items_in_batch)
        result = Seq2SeqLMOutput(
            loss=loss,
            logits=logits,
            past_key_values=outputs.past_key_values,
            decoder_hidden_states=outputs.decoder_hidden_states,
            decoder_attentions=outputs.decoder_attentions,
            cross_attentions=outputs.cross_attentions,
            encoder_last_hidden_state=outputs.encoder_last_hidden_state,
            encoder_hidden_states=outputs.encoder_hidden_states,
            encoder_attentions=outputs.encoder_attentions,
        )
        return result if return_dict else result.to_tuple()


class LectureTransformerForCausalLM(LectureTransformerPreTrainedModel, GenerationMixin):
    """The decoder stack alone, without cross-attention: predicts each next token from the ones before it.

    ``labels`` are the input ids themselves; the model shifts them (position t predicts token t + 1).
    """

    _tied_weights_keys = {"lm_head.weight": "model.embeddings.embed_tokens.weight"}

    def __init__(self, config: LectureTransformerConfig):
        super().__init__(config)
        embed_tokens = nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)
        self.model = LectureTransformerDecoder(config, embed_tokens, has_cross_attention=False)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.add_final_logits_bias:
            self.register_buffer("final_logits_bias", torch.zeros(1, config.vocab_size))
        else:
            self.final_logits_bias = None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.embeddings.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.model.embeddings.embed_tokens = value

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head = value

    def forward(
        self,
        input_ids: torch.Tensor | None = None,  # (B, T)
        attention_mask: torch.Tensor | None = None,  # (B, T_past + T)
        past_key_values: Cache | None = None,
        labels: torch.Tensor | None = None,  # (B, T), usually input_ids; -100 where ignored
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        num_items_in_batch: int | torch.Tensor | None = None,
        **kwargs,
    ) -> CausalLMOutputWithCrossAttentions | tuple:
        output_attentions = self.config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = self.config.output_hidden_states if output_hidden_states is None else output_hidden_states
        use_cache = (self.config.use_cache if use_cache is None else use_cache) and labels is None
        return_dict = self.config.return_dict if return_dict is None else return_dict
        if input_ids is None:
            raise ValueError("input_ids must be given")
        if use_cache and past_key_values is None:
            past_key_values = DynamicCache()
        outputs = self.model(
            input_ids,
            attention_mask,
            past_key_values=past_key_values if use_cache else None,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            input_name="input_ids",
        )
        logits = self.lm_head(outputs.last_hidden_state)  # (B, T, V)
        if self.final_logits_bias is not None:
            logits = logits + self.final_logits_bias
        loss = None
        if labels is not None:
            check_token_ids(labels.masked_fill(labels == -100, 0), self.config.vocab_size, "labels")
            if labels.shape != input_ids.shape:
                raise ValueError(
                    f"labels must have the shape of input_ids {tuple(input_ids.shape)}, got {tuple(labels.shape)}"
                )
            # Position t predicts token t + 1: drop the last prediction and the first label.
            loss = lm_loss(logits[:, :-1], labels[:, 1:], self.config.label_smoothing, num_items_in_batch)
        result = CausalLMOutputWithCrossAttentions(
            loss=loss,
            logits=logits,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
        return result if return_dict else result.to_tuple()


__all__ = [
    "LectureTransformerPreTrainedModel",
    "LectureTransformerModel",
    "LectureTransformerForConditionalGeneration",
    "LectureTransformerForCausalLM",
]
