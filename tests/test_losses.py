"""The training objective: the CTC auxiliary reads the encoder's columns, [PAD] as its blank."""
import math

import torch
import torch.nn.functional as F

from ocr.decoder import DecoderConfig
from ocr.model import ModelConfig, OCRModel
from ocr.tokenizer import BOS, EOS, PAD
from training.config import TrainConfig
from training.losses import ctc_loss, noisy_inputs, training_loss


def confident(path, vocab=8, margin=20.0):
    """Per-column logits that put all the mass on `path` (token ids, PAD = blank)."""
    logits = torch.full((1, len(path), vocab), -margin)
    logits[0, torch.arange(len(path)), torch.tensor(path)] = margin
    return logits


def test_ctc_loss_is_zero_for_a_confident_correct_reading_and_large_for_a_wrong_one():
    tokens = torch.tensor([[BOS, 5, 5, 6, EOS, PAD]])  # "aab": a repeated letter needs a blank between
    right = ctc_loss(confident([5, PAD, 5, 6, PAD]), torch.tensor([5]), tokens)
    merged = ctc_loss(confident([5, 5, 6, PAD, PAD]), torch.tensor([5]), tokens)  # reads "ab"
    assert right.item() < 1e-6
    assert merged.item() > 5


def test_ctc_loss_uses_only_the_valid_columns():
    tokens = torch.tensor([[BOS, 5, 6, EOS]])
    padded = confident([5, 6, 7, 7])  # the last two columns are padding: what they say must not count
    assert ctc_loss(padded, torch.tensor([2]), tokens).item() < 1e-6
    assert ctc_loss(padded, torch.tensor([4]), tokens).item() > 5


def test_a_line_too_long_for_its_columns_adds_nothing_instead_of_nan():
    tokens = torch.tensor([[BOS, 5, 6, 7, EOS], [BOS, 5, EOS, PAD, PAD]])
    loss = ctc_loss(confident([5, 6], vocab=8).repeat(2, 1, 1), torch.tensor([2, 2]), tokens)
    assert math.isfinite(loss.item())


def test_training_loss_mixes_attention_and_ctc_by_their_weight():
    torch.manual_seed(0)
    model = OCRModel(ModelConfig(encoder={"name": "hybrid_tiny", "max_width": 256},
                                 decoder=DecoderConfig(vocab_size=10, dim=64, depth=1, heads=2, dropout=0.0),
                                 ctc=True)).eval()
    images, widths = torch.rand(2, 1, 32, 128), torch.tensor([128, 96])
    tokens = torch.tensor([[BOS, 4, 5, 6, EOS], [BOS, 7, 8, EOS, PAD]])
    attention = training_loss(model, images, widths, tokens, TrainConfig(ctc_weight=0.0, label_smoothing=0.0))
    logits, (ctc_logits, columns) = model(images, widths, tokens[:, :-1], ctc=True)
    assert torch.allclose(attention, F.cross_entropy(logits.transpose(1, 2), tokens[:, 1:], ignore_index=PAD))
    ctc = ctc_loss(ctc_logits, columns, tokens)
    joint = training_loss(model, images, widths, tokens, TrainConfig(ctc_weight=0.25, label_smoothing=0.0))
    assert torch.allclose(joint, 0.75 * attention + 0.25 * ctc)
    assert columns.tolist() == [16, 12]  # hybrid_tiny: one column every 8 pixels


def test_token_noise_replaces_characters_only_and_keeps_the_targets():
    torch.manual_seed(0)
    inputs = torch.tensor([[BOS] + [4 + i % 6 for i in range(200)] + [EOS, PAD, PAD]])
    assert torch.equal(noisy_inputs(inputs, 0.0, 10), inputs)
    noisy = noisy_inputs(inputs, 0.3, 10)
    special = inputs < 4
    assert torch.equal(noisy[special], inputs[special])  # [BOS], [EOS] and [PAD] are never replaced
    assert bool(((noisy >= 4) & (noisy < 10))[~special].all())  # by characters of the vocabulary, never [UNK]
    changed = (noisy != inputs).float().mean().item()
    assert 0.15 < changed < 0.35  # 0.3 drawn, minus replacements that drew the same character (1 in 6)
    always = noisy_inputs(inputs, 1.0, 5)  # one character in this vocabulary: every character becomes it
    assert bool((always[~special] == 4).all())


def test_token_noise_changes_what_the_decoder_reads_not_what_it_must_write():
    torch.manual_seed(0)
    model = OCRModel(ModelConfig(encoder={"name": "hybrid_tiny", "max_width": 256},
                                 decoder=DecoderConfig(vocab_size=10, dim=64, depth=1, heads=2, dropout=0.0))).eval()
    images, widths = torch.rand(1, 1, 32, 128), torch.tensor([128])
    tokens = torch.tensor([[BOS, 4, 5, 6, 7, 8, EOS]])
    clean = TrainConfig(label_smoothing=0.0)
    torch.manual_seed(1)
    noisy = training_loss(model, images, widths, tokens, TrainConfig(label_smoothing=0.0, token_noise=1.0))
    torch.manual_seed(1)
    inputs = noisy_inputs(tokens[:, :-1], 1.0, 10)
    assert not torch.equal(inputs, tokens[:, :-1])
    expected = F.cross_entropy(model(images, widths, inputs).transpose(1, 2), tokens[:, 1:], ignore_index=PAD)
    assert torch.allclose(noisy, expected)
    assert not torch.allclose(noisy, training_loss(model, images, widths, tokens, clean))
