import pytest
import torch

from ocr import DecoderConfig, ModelConfig, OCRModel, TextTokenizer

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:'-!?"


@pytest.fixture
def tokenizer():
    return TextTokenizer.char_level([ALPHABET])


def tiny_model(tokenizer, encoder="vit_tiny", seed=0, **encoder_overrides) -> OCRModel:
    torch.manual_seed(seed)
    decoder = DecoderConfig(vocab_size=tokenizer.vocab_size, dim=64, depth=2, heads=4, max_length=48, dropout=0.0)
    return OCRModel(ModelConfig(encoder={"name": encoder, "max_width": 256, **encoder_overrides}, decoder=decoder))


@pytest.fixture
def model(tokenizer):
    """An untrained model whose output still depends on the image: random weights decode real token sequences."""
    return tiny_model(tokenizer).eval()
