"""The training objective: attention cross-entropy, plus DeiT distillation and the CTC auxiliary when asked.

Joint CTC/attention (Kim, Hori and Watanabe 2017): a CTC head reading the encoder's columns left to right gives the
encoder a direct, monotonic signal from the first step, so the decoder's cross-attention finds the text in hundreds
of steps where attention alone first learns a language model ("the the the") and only later looks at the image.
loss = (1 - ctc_weight) * attention loss + ctc_weight * CTC loss; at weight 1 the decoder is left out altogether.
"""
import torch
import torch.nn.functional as F

from ocr.tokenizer import PAD, SPECIAL_TOKENS

from .distill import distillation_loss, teacher_logits


def ctc_loss(logits, columns, tokens):
    """logits (B, C, V) per encoder column, columns (B,) valid ones, tokens (B, T) = [BOS] text [EOS] [PAD]...;
    [PAD] is the blank. Lines too long for their columns add nothing (zero_infinity) instead of NaN."""
    targets = tokens[:, 1:]
    lengths = (targets != PAD).sum(1) - 1  # without [EOS]
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # (C, B, V)
    return F.ctc_loss(log_probs, targets, columns, lengths, blank=PAD, zero_infinity=True)


def noisy_inputs(inputs, rate: float, vocab_size: int):
    """Teacher-forced decoder inputs with each character replaced by a random one at `rate` (special tokens kept),
    so that the decoder learns to read the image instead of guessing the next character from the text alone, which a
    small set of lines lets it learn by heart. The targets stay the true text."""
    regular = inputs >= len(SPECIAL_TOKENS)
    swap = regular & (torch.rand(inputs.shape, device=inputs.device) < rate)
    random = torch.randint(len(SPECIAL_TOKENS), vocab_size, inputs.shape, device=inputs.device)
    return torch.where(swap, random, inputs)


def training_loss(model, images, widths, tokens, cfg, teacher=None):
    """The loss of one batch under `cfg` (TrainConfig): what the trainer back-propagates."""
    if cfg.ctc_weight >= 1:  # CTC alone: the decoder is neither run nor trained (a CRNN-style reader, faster)
        return ctc_loss(*model(images, widths, None), tokens)
    use_ctc = cfg.ctc_weight > 0
    inputs = tokens[:, :-1]
    if cfg.token_noise > 0:
        vocab_size = getattr(model, "module", model).decoder.cfg.vocab_size  # .module: under DDP (torchrun)
        inputs = noisy_inputs(inputs, cfg.token_noise, vocab_size)
    outputs = model(images, widths, inputs, distillation=teacher is not None, ctc=use_ctc)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    logits = outputs[0]
    if teacher is not None:
        loss = distillation_loss(logits, outputs[1], teacher_logits(teacher, images, widths, inputs),
                                 tokens[:, 1:], cfg.distill, cfg.distill_temperature, cfg.distill_alpha,
                                 cfg.label_smoothing)
    else:
        loss = F.cross_entropy(logits.float().transpose(1, 2), tokens[:, 1:], ignore_index=PAD,
                               label_smoothing=cfg.label_smoothing)
    if use_ctc:
        ctc_logits, columns = outputs[-1]
        loss = (1 - cfg.ctc_weight) * loss + cfg.ctc_weight * ctc_loss(ctc_logits, columns, tokens)
    return loss
