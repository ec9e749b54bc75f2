"""BERT (Devlin et al., 2018): a stack of Transformer encoder layers, pre-trained with two tasks.

    [CLS] sentence A [SEP] sentence B [SEP]
      -> token + position + segment embeddings, LayerNorm          (paper, 3.2 and figure 2)
      -> L x EncoderLayer (post-LN, GELU; the layer of layers.py)
      -> one vector per token; the [CLS] vector summarises the pair (the pooler: tanh(W h_[CLS] + b))

Pre-training (section 3.1): the masked language model (MLM) predicts the ~15% of tokens the collator
masked, through a transform (dense, GELU, LayerNorm) and a decoder tied to the word embeddings; next
sentence prediction (NSP) says from the pooled [CLS] whether B really followed A.

Classes: ``LectureBertModel`` (the trunk), ``LectureBertForPreTraining`` (MLM + NSP),
``LectureBertForMaskedLM``, ``LectureBertForNextSentencePrediction``,
``LectureBertForSequenceClassification``, ``LectureBertForTokenClassification``.

Losses are sums divided by ``num_items_in_batch`` when Trainer passes it (the label count of the whole
accumulated, all-process batch), else by the local label count: a step on 2B rows then gives the same
loss and gradients as two accumulated steps on B rows each (see ``LectureBertForPreTraining.forward``).

Axes: B batch, T sequence length, D hidden_size, V vocabulary, M masked positions in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.activations import ACT2FN
from transformers.modeling_outputs import (
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    NextSentencePredictorOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from transformers.utils import ModelOutput

from .configuration_bert import LectureBertConfig
from .layers import EncoderLayer, LayerSpec, PackedTokens, additive_mask, check_attention_mask, check_token_ids
from .layers import padding_mask_or_none
from .saving import SavingMixin

IGNORE_INDEX = -100  # label of positions that carry no loss (unmasked tokens, padding, sub-words)


# ----------------------------------------------------------------------------------------------
# Input checks and loss helpers
# ----------------------------------------------------------------------------------------------


def check_labels(labels: torch.Tensor, num_classes: int, name: str, shape: tuple) -> None:
    """Class labels must have the given shape and be -100 (ignored) or in [0, num_classes)."""
    if torch.compiler.is_compiling():
        return
    if tuple(labels.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer class ids, got dtype {labels.dtype}")
    kept = labels[labels != IGNORE_INDEX]
    if kept.numel() and (int(kept.min()) < 0 or int(kept.max()) >= num_classes):
        low, high = int(kept.min()), int(kept.max())
        raise ValueError(f"{name} must be -100 (ignored) or in [0, {num_classes}), got values from {low} to {high}")


def normalise(
    loss_sum: torch.Tensor, local_count: torch.Tensor | int, num_items_in_batch: torch.Tensor | int | None
) -> torch.Tensor:
    """loss_sum / (num_items_in_batch if Trainer gave it, else the count of labels in this batch).

    Dividing every micro-batch by the same global count makes accumulated steps add up to one big step.
    A batch without any label gives 0, not 0 / 0.
    """
    count = local_count if num_items_in_batch is None else num_items_in_batch
    count = torch.as_tensor(count, device=loss_sum.device, dtype=loss_sum.dtype)
    return loss_sum / count.clamp(min=1)


def mean_pool(hidden_states: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Average of the token vectors, padding left out: (B, T, D), (B, T) -> (B, D).

    The naive sentence vector. Without positions it cannot tell "I ate pizza" from "pizza ate I".
    """
    if attention_mask is None:
        return hidden_states.mean(dim=1)
    weights = attention_mask.to(hidden_states.dtype).unsqueeze(-1)  # (B, T, 1)
    return (hidden_states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


# ----------------------------------------------------------------------------------------------
# The trunk
# ----------------------------------------------------------------------------------------------


class LectureBertEmbeddings(nn.Module):
    """Input representation = token + position + segment embedding, then LayerNorm and dropout (figure 2)."""

    def __init__(self, config: LectureBertConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)
        if config.position_embedding_type == "absolute":  # learned, one vector per position (not sinusoids)
            self.embed_positions = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        else:  # "none": the encoder sees a bag of tokens
            self.embed_positions = None
        self.embed_token_types = nn.Embedding(config.type_vocab_size, config.hidden_size)  # E_A, E_B
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = config.hidden_dropout_prob

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, T, D)
        embeddings = self.embed_tokens(input_ids) + self.embed_token_types(token_type_ids)  # (B, T, D)
        if self.embed_positions is not None:
            positions = torch.arange(input_ids.shape[1], device=input_ids.device)  # (T,)
            embeddings = embeddings + self.embed_positions(positions)  # broadcast over B
        embeddings = self.layer_norm(embeddings)
        return nn.functional.dropout(embeddings, p=self.dropout, training=self.training)


class LectureBertPooler(nn.Module):
    """pooled = tanh(W h_[CLS] + b): the [CLS] vector, fine-tuned into a summary of the whole input."""

    def __init__(self, config: LectureBertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, D)
        return torch.tanh(self.dense(hidden_states[:, 0]))


class LectureBertPreTrainedModel(SavingMixin, PreTrainedModel):
    config_class = LectureBertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["LectureBertEmbeddings", "EncoderLayer"]
    # Every loss below is normalised by num_items_in_batch: Trainer must pass it and not divide by
    # the accumulation steps itself.
    accepts_loss_kwargs = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """BERT's initialisation: weights ~ N(0, initializer_range), biases 0, LayerNorm 1 and 0, [PAD] row 0."""
        super()._init_weights(module)


class LectureBertModel(LectureBertPreTrainedModel):
    """Embeddings, L encoder layers, and (with ``add_pooling_layer``) the [CLS] pooler."""

    def __init__(self, config: LectureBertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = LectureBertEmbeddings(config)
        spec = LayerSpec(
            d_model=config.hidden_size,
            num_heads=config.num_attention_heads,
            d_ff=config.intermediate_size,
            activation=config.hidden_act,
            dropout=config.hidden_dropout_prob,
            attention_dropout=config.attention_probs_dropout_prob,
            activation_dropout=0.0,
            pre_norm=False,  # BERT keeps the paper's post-LN: LayerNorm(x + Sublayer(x))
            layer_norm_eps=config.layer_norm_eps,
        )
        self.layers = nn.ModuleList([EncoderLayer(config, spec) for _ in range(config.num_hidden_layers)])
        self.pooler = LectureBertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.embed_tokens = value

    def check_inputs(self, input_ids, attention_mask, token_type_ids) -> None:
        """Bad input becomes a ValueError naming the argument, before any lookup fails or reads garbage."""
        config = self.config
        max_positions = config.max_position_embeddings if config.position_embedding_type == "absolute" else None
        check_token_ids(input_ids, config.vocab_size, "input_ids", max_positions)
        check_attention_mask(attention_mask, input_ids.shape, "attention_mask")
        if token_type_ids is not None and not torch.compiler.is_compiling():
            if tuple(token_type_ids.shape) != tuple(input_ids.shape):
                raise ValueError(
                    f"token_type_ids must have the shape of input_ids {tuple(input_ids.shape)}, "
                    f"got {tuple(token_type_ids.shape)}"
                )
            if token_type_ids.is_floating_point() or token_type_ids.is_complex() or token_type_ids.dtype == torch.bool:
                raise ValueError(f"token_type_ids must hold integer segment ids, got dtype {token_type_ids.dtype}")
            low, high = int(token_type_ids.min()), int(token_type_ids.max())
            if low < 0 or high >= config.type_vocab_size:
                raise ValueError(
                    f"token_type_ids must be in [0, type_vocab_size={config.type_vocab_size}), "
                    f"got values from {low} to {high}"
                )

    def packs_tokens(self, outputs_per_layer: bool) -> bool:
        """Whether a padded batch takes the packed fast path: ``config.unpad_inputs``, in training, with the
        SDPA kernel, when no per-layer output is asked for, and not under torch.compile (N depends on the data).

        Only the outputs at padding positions change: zero vectors instead of the (meaningless) vectors the
        padded path computes there. Evaluation always takes the padded path, so its outputs match transformers'.
        """
        return (
            self.config.unpad_inputs
            and self.training
            and self.config._attn_implementation == "sdpa"
            and not outputs_per_layer
            and not torch.compiler.is_compiling()
        )

    def forward(
        self,
        input_ids: torch.Tensor | None = None,  # (B, T)
        attention_mask: torch.Tensor | None = None,  # (B, T), 1 = token, 0 = padding
        token_type_ids: torch.Tensor | None = None,  # (B, T), 0 = sentence A, 1 = sentence B
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        cls_only: bool = False,  # True: only [CLS]'s final vector, last_hidden_state (B, 1, D): all the pooler reads
        **kwargs,
    ) -> BaseModelOutputWithPooling | tuple:
        output_attentions = self.config.output_attentions if output_attentions is None else output_attentions
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        return_dict = self.config.return_dict if return_dict is None else return_dict
        if input_ids is None:
            raise ValueError("input_ids must be given")
        self.check_inputs(input_ids, attention_mask, token_type_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)  # a single sentence: everything is segment A

        hidden_states = self.embeddings(input_ids, token_type_ids)  # (B, T, D)
        # Bidirectional: every token attends to every real token, left and right; only padding is hidden.
        padding = padding_mask_or_none(attention_mask, input_ids.shape[1])  # (B, 1, T, T) bool, or None
        mask = additive_mask(padding, hidden_states)  # (B, 1, T, T)

        # Fast path (config.unpad_inputs): the layers see the (N, D) real tokens only; see PackedTokens.
        packed = None
        if padding is not None and self.packs_tokens(output_attentions or output_hidden_states):
            packed = PackedTokens.from_attention_mask(attention_mask)
            hidden_states = packed.pack(hidden_states)  # (N, D)

        # The last layer can skip every token but [CLS] when that is all the caller reads (see EncoderLayer).
        cls_only = cls_only and packed is None and not (output_attentions or output_hidden_states)
        last = len(self.layers) - 1
        all_hidden_states, all_attentions = [hidden_states], []
        for index, layer in enumerate(self.layers):
            hidden_states, weights = layer(
                hidden_states, mask, output_attentions=output_attentions, packed=packed,
                cls_only=cls_only and index == last,
            )  # fmt: skip
            if output_hidden_states:  # else keep no reference: each layer's memory is reused
                all_hidden_states.append(hidden_states)
            all_attentions.append(weights)  # (B, H, T, T)
        if packed is not None:
            hidden_states = packed.unpack(hidden_states)  # (B, T, D), zero vectors at the padding

        outputs = BaseModelOutputWithPooling(
            last_hidden_state=hidden_states,  # (B, T, D); (B, 1, D) with cls_only
            pooler_output=self.pooler(hidden_states) if self.pooler is not None else None,  # (B, D)
            hidden_states=tuple(all_hidden_states) if output_hidden_states else None,  # L + 1 of (B, T, D)
            attentions=tuple(all_attentions) if output_attentions else None,  # L of (B, H, T, T)
        )
        return outputs if return_dict else outputs.to_tuple()


# ----------------------------------------------------------------------------------------------
# Pre-training heads
# ----------------------------------------------------------------------------------------------


class LectureBertLMHead(nn.Module):
    """MLM head: transform (dense, activation, LayerNorm), then the decoder onto the vocabulary.

    The decoder's weight is the word-embedding matrix (tied); its bias is the head's own.
    """

    def __init__(self, config: LectureBertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = ACT2FN[config.hidden_act]
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)  # E^T + b

    def forward(
        self, hidden_states: torch.Tensor, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, D), labels (B, T) -> logits (B, T, V) and labels (B, T).

        In training with labels, only the masked positions (label != -100) go through the head:
        logits (M, V) and labels (M,). The other ~85% of rows would be projected onto the whole
        vocabulary, the most expensive product of pre-training, only to be ignored by the loss.
        """
        if labels is not None and self.training:
            masked = labels != IGNORE_INDEX  # (B, T)
            hidden_states, labels = hidden_states[masked], labels[masked]  # (M, D), (M,)
        hidden_states = self.layer_norm(self.activation(self.dense(hidden_states)))
        return self.decoder(hidden_states), labels  # (..., V)


def cross_entropy_sum(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum of -log p(label) over the labelled positions (label != -100); logits (..., C), labels (...)."""
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    )


@dataclass
class LectureBertForPreTrainingOutput(ModelOutput):
    """Output of ``LectureBertForPreTraining``.

    loss: MLM loss + NSP loss (see ``LectureBertForPreTraining.forward`` for the normalisation).
    prediction_logits: MLM scores before the softmax. Shape (B, T, V) in eval mode or without labels;
        in training mode with labels only the masked positions are scored, shape (M, V), the rows in
        the order of ``labels[labels != -100]``.
    seq_relationship_logits: (B, 2) NSP scores, index 0 = IsNext, 1 = NotNext.
    hidden_states, attentions: as in ``BaseModelOutput``.
    """

    loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None
    seq_relationship_logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class LectureBertForPreTraining(LectureBertPreTrainedModel):
    """BERT with both pre-training heads: masked language model and next sentence prediction."""

    _tied_weights_keys = {"lm_head.decoder.weight": "bert.embeddings.embed_tokens.weight"}

    def __init__(self, config: LectureBertConfig):
        super().__init__(config)
        self.bert = LectureBertModel(config)
        self.lm_head = LectureBertLMHead(config)
        self.nsp_head = nn.Linear(config.hidden_size, 2)  # IsNext / NotNext from the pooled [CLS]
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head.decoder

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head.decoder = value

    def forward(
        self,
        input_ids: torch.Tensor | None = None,  # (B, T)
        attention_mask: torch.Tensor | None = None,  # (B, T)
        token_type_ids: torch.Tensor | None = None,  # (B, T)
        labels: torch.Tensor | None = None,  # (B, T): original id at masked positions, -100 elsewhere
        next_sentence_label: torch.Tensor | None = None,  # (B,): 0 = B follows A, 1 = B is random
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        num_items_in_batch: torch.Tensor | int | None = None,
        **kwargs,
    ) -> LectureBertForPreTrainingOutput | tuple:
        r"""loss = MLM + NSP, both averaged over the masked tokens N of the whole batch:

            MLM = sum over masked tokens t of CE_t / N
            NSP = sum over sequences s of m_s * CE_s / N     (m_s = masked tokens in s; sum of m_s = N)

        N is ``num_items_in_batch`` when Trainer passes it (it counts ``labels != -100`` over every
        accumulated micro-batch and process), else the count in this batch. Both terms are then sums
        over the batch divided by one constant, which is what makes a step on 2B rows equal to two
        accumulated steps on B rows, in loss and gradients, whatever the masked counts of the halves.
        The NSP term is a weighted mean of the per-pair losses (weights m_s / N sum to 1): it equals
        the plain mean over pairs when every pair has the same number of masked tokens, and a pair with
        no masked token does not train NSP. (Trainer never tells the model the number of pairs in the
        accumulated batch, so a plain mean over pairs cannot be exact under accumulation.)
        With ``next_sentence_label`` alone, loss = mean NSP over the pairs (N = labelled pairs).
        """
        return_dict = self.config.return_dict if return_dict is None else return_dict
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states, return_dict=True
        )
        if labels is not None:
            check_labels(labels, self.config.vocab_size, "labels", input_ids.shape)
        if next_sentence_label is not None:
            check_labels(next_sentence_label, 2, "next_sentence_label", input_ids.shape[:1])
        prediction_logits, mlm_labels = self.lm_head(outputs.last_hidden_state, labels)  # (B, T, V) or (M, V)
        seq_relationship_logits = self.nsp_head(outputs.pooler_output)  # (B, 2)

        loss = None
        if next_sentence_label is not None:
            nsp_per_pair = F.cross_entropy(
                seq_relationship_logits.float(), next_sentence_label, ignore_index=IGNORE_INDEX, reduction="none"
            )  # (B,)
        if labels is not None:
            masked_per_pair = (labels != IGNORE_INDEX).sum(dim=1)  # (B,) m_s
            loss_sum = cross_entropy_sum(prediction_logits, mlm_labels)
            if next_sentence_label is not None:
                loss_sum = loss_sum + (nsp_per_pair * masked_per_pair).sum()
            loss = normalise(loss_sum, masked_per_pair.sum(), num_items_in_batch)
        elif next_sentence_label is not None:
            loss = normalise(nsp_per_pair.sum(), (next_sentence_label != IGNORE_INDEX).sum(), num_items_in_batch)

        result = LectureBertForPreTrainingOutput(
            loss=loss,
            prediction_logits=prediction_logits,
            seq_relationship_logits=seq_relationship_logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
        return result if return_dict else result.to_tuple()


class LectureBertForMaskedLM(LectureBertPreTrainedModel):
    """BERT with the MLM head only (fill-mask, and MLM-only pre-training as RoBERTa does).

    As in ``LectureBertForPreTraining``, ``logits`` are (B, T, V) in eval mode or without labels, and
    (M, V), the masked positions only, in training mode with labels.
    """

    _tied_weights_keys = {"lm_head.decoder.weight": "bert.embeddings.embed_tokens.weight"}

    def __init__(self, config: LectureBertConfig):
        super().__init__(config)
        self.bert = LectureBertModel(config, add_pooling_layer=False)
        self.lm_head = LectureBertLMHead(config)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head.decoder

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head.decoder = value

    def forward(
        self,
        input_ids: torch.Tensor | None = None,  # (B, T)
        attention_mask: torch.Tensor | None = None,  # (B, T)
        token_type_ids: torch.Tensor | None = None,  # (B, T)
        labels: torch.Tensor | None = None,  # (B, T): original id at masked positions, -100 elsewhere
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        num_items_in_batch: torch.Tensor | int | None = None,
        **kwargs,
    ) -> MaskedLMOutput | tuple:
        """loss = sum of CE over the masked tokens / N (``num_items_in_batch``, else the masked count here)."""
        return_dict = self.config.return_dict if return_dict is None else return_dict
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states, return_dict=True
        )
        if labels is not None:
            check_labels(labels, self.config.vocab_size, "labels", input_ids.shape)
        logits, mlm_labels = self.lm_head(outputs.last_hidden_state, labels)  # (B, T, V) or (M, V)
        loss = None
        if labels is not None:
            loss = normalise(cross_entropy_sum(logits, mlm_labels), (labels != IGNORE_INDEX).sum(), num_items_in_batch)
        result = MaskedLMOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return result if return_dict else result.to_tuple()


class LectureBertForNextSentencePrediction(LectureBertPreTrainedModel):
    """BERT with the NSP head only: does sentence B follow sentence A? (0 = yes, 1 = random)"""

    def __init__(self, config: LectureBertConfig):
        super().__init__(config)
        self.bert = LectureBertModel(config)
        self.nsp_head = nn.Linear(config.hidden_size, 2)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,  # (B, T)
        attention_mask: torch.Tensor | None = None,  # (B, T)
        token_type_ids: torch.Tensor | None = None,  # (B, T)
        labels: torch.Tensor | None = None,  # (B,): 0 = IsNext, 1 = NotNext
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        num_items_in_batch: torch.Tensor | int | None = None,
        **kwargs,
    ) -> NextSentencePredictorOutput | tuple:
        """loss = sum of CE over the pairs / N (``num_items_in_batch``, else the labelled pairs here)."""
        return_dict = self.config.return_dict if return_dict is None else return_dict
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states, return_dict=True
        )
        if labels is not None:
            check_labels(labels, 2, "labels", input_ids.shape[:1])
        logits = self.nsp_head(outputs.pooler_output)  # (B, 2)
        loss = None
        if labels is not None:
            loss_sum = F.cross_entropy(logits.float(), labels, ignore_index=IGNORE_INDEX, reduction="sum")
            loss = normalise(loss_sum, (labels != IGNORE_INDEX).sum(), num_items_in_batch)
        result = NextSentencePredictorOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return result if return_dict else result.to_tuple()


# ----------------------------------------------------------------------------------------------
# Fine-tuning heads (section 3.2, figure 4)
# ----------------------------------------------------------------------------------------------


def check_float_labels(labels: torch.Tensor, logits_shape: torch.Size, name: str) -> None:
    """Regression / multi-label targets: one value per logit ((B,) is fine for a single output)."""
    if labels.numel() != logits_shape.numel() or labels.shape[0] != logits_shape[0]:
        raise ValueError(
            f"{name} must have one value per logit, shape {tuple(logits_shape)}, got {tuple(labels.shape)}"
        )


def _classifier_dropout(config: LectureBertConfig) -> float:
    return config.hidden_dropout_prob if config.classifier_dropout is None else config.classifier_dropout


class LectureBertForSequenceClassification(LectureBertPreTrainedModel):
    """One label (or score) per input: sentence or sentence pair classification, regression.

    The sentence vector is ``config.pooling``: "cls", BERT's pooled [CLS] vector; or "mean", the average
    of the last hidden states over the real tokens (the naive baseline). ``config.problem_type`` picks
    the loss as in transformers: "regression" (MSE), "single_label_classification" (cross-entropy) or
    "multi_label_classification" (binary cross-entropy per label); when unset it is inferred from
    ``num_labels`` and the labels' dtype.
    """

    def __init__(self, config: LectureBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = LectureBertModel(config, add_pooling_layer=config.pooling == "cls")
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def _problem_type(self, labels: torch.Tensor) -> str:
        if self.config.problem_type is None:
            if self.num_labels == 1:
                self.config.problem_type = "regression"
            elif labels.dtype in (torch.long, torch.int):
                self.config.problem_type = "single_label_classification"
            else:
                self.config.problem_type = "multi_label_classification"
        return self.config.problem_type

    def forward(
        self,
        input_ids: torch.Tensor | None = None,  # (B, T)
        attention_mask: torch.Tensor | None = None,  # (B, T)
        token_type_ids: torch.Tensor | None = None,  # (B, T)
        labels: torch.Tensor | None = None,  # (B,) class ids or scores, or (B, num_labels) for multi-label
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        num_items_in_batch: torch.Tensor | int | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput | tuple:
        """loss = sum over the labels / N: N = ``num_items_in_batch`` (Trainer counts every label value
        that is not -100: one per row, or num_labels per row for multi-label), else the same count here."""
        return_dict = self.config.return_dict if return_dict is None else return_dict
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states, return_dict=True,
            cls_only=self.config.pooling == "cls",  # the pooler reads [CLS] only: the last layer computes nothing else
        )  # fmt: skip
        if self.config.pooling == "cls":
            pooled = outputs.pooler_output  # (B, D)
        else:
            pooled = mean_pool(outputs.last_hidden_state, attention_mask)  # (B, D)
        pooled = nn.functional.dropout(pooled, p=self.dropout, training=self.training)
        logits = self.classifier(pooled)  # (B, num_labels)

        loss = None
        if labels is not None:
            problem_type = self._problem_type(labels)
            if problem_type == "single_label_classification":
                check_labels(labels, self.num_labels, "labels", input_ids.shape[:1])
                loss_sum = F.cross_entropy(logits.float(), labels, ignore_index=IGNORE_INDEX, reduction="sum")
                count = (labels != IGNORE_INDEX).sum()
            elif problem_type == "multi_label_classification":
                check_float_labels(labels, logits.shape, "labels")
                loss_sum = F.binary_cross_entropy_with_logits(logits.float(), labels.float(), reduction="sum")
                count = labels.numel()
            elif problem_type == "regression":
                check_float_labels(labels, logits.shape, "labels")
                loss_sum = F.mse_loss(logits.float().reshape(labels.shape), labels.float(), reduction="sum")
                count = labels.numel()
            else:
                raise ValueError(
                    "problem_type must be 'regression', 'single_label_classification' or "
                    f"'multi_label_classification', got {problem_type!r}"
                )
            loss = normalise(loss_sum, count, num_items_in_batch)
        result = SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return result if return_dict else result.to_tuple()


class LectureBertForTokenClassification(LectureBertPreTrainedModel):
    """One label per token (named entities, part of speech): a linear layer on every final hidden state."""

    def __init__(self, config: LectureBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = LectureBertModel(config, add_pooling_layer=False)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,  # (B, T)
        attention_mask: torch.Tensor | None = None,  # (B, T)
        token_type_ids: torch.Tensor | None = None,  # (B, T)
        labels: torch.Tensor | None = None,  # (B, T) class ids, -100 on padding and continued sub-words
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        num_items_in_batch: torch.Tensor | int | None = None,
        **kwargs,
    ) -> TokenClassifierOutput | tuple:
        """loss = sum of CE over the labelled tokens / N (``num_items_in_batch``, else the count here)."""
        return_dict = self.config.return_dict if return_dict is None else return_dict
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states, return_dict=True
        )
        if labels is not None:
            check_labels(labels, self.num_labels, "labels", input_ids.shape)
        hidden_states = nn.functional.dropout(outputs.last_hidden_state, p=self.dropout, training=self.training)
        logits = self.classifier(hidden_states)  # (B, T, num_labels)
        loss = None
        if labels is not None:
            loss_sum = cross_entropy_sum(logits, labels)
            loss = normalise(loss_sum, (labels != IGNORE_INDEX).sum(), num_items_in_batch)
        result = TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return result if return_dict else result.to_tuple()


__all__ = [
    "LectureBertPreTrainedModel",
    "LectureBertModel",
    "LectureBertForPreTraining",
    "LectureBertForMaskedLM",
    "LectureBertForNextSentencePrediction",
    "LectureBertForSequenceClassification",
    "LectureBertForTokenClassification",
    "LectureBertForPreTrainingOutput",
    "mean_pool",
]
