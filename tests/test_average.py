"""`vitocr average`: weights interpolated tensor by tensor; models that cannot be averaged are refused by name."""
import json

import pytest
import torch

from ocr import TextTokenizer, VitocrError, load_model, save_model
from ocr.cli import main
from ocr.tokenizer import SPECIAL_TOKENS
from training.average import average_models

from conftest import ALPHABET, tiny_model


@pytest.fixture
def pair(tmp_path, tokenizer):
    """A model and a 'fine-tuned' copy: same architecture, other weights, other reading settings."""
    first, second = tiny_model(tokenizer, "hybrid_tiny", seed=1), tiny_model(tokenizer, "hybrid_tiny", seed=2)
    second.config.beams = 1
    save_model(tmp_path / "first", first, tokenizer)
    save_model(tmp_path / "second", second, tokenizer)
    return tmp_path / "first", tmp_path / "second"


def weights(folder):
    return load_model(folder)[0].state_dict()


@pytest.mark.parametrize("weight", [0.0, 0.25, 1.0])
def test_each_tensor_is_the_weighted_mean_and_the_ends_are_the_models_themselves(tmp_path, pair, weight):
    first, second = pair
    average_models(first, second, tmp_path / "out", weight)
    a, b, out = weights(first), weights(second), weights(tmp_path / "out")
    assert out.keys() == a.keys()
    for name, tensor in out.items():
        if not tensor.is_floating_point():
            assert torch.equal(tensor, a[name])
        elif weight in (0.0, 1.0):  # exactly a model, not a rounding of it
            assert torch.equal(tensor, (a if weight == 0.0 else b)[name]), name
        else:
            torch.testing.assert_close(tensor, 0.75 * a[name] + 0.25 * b[name])


def test_reading_settings_come_from_the_first_model(tmp_path, pair):
    first, second = pair
    average_models(second, first, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "config.json").read_text())["beams"] == 1


def test_the_command_writes_a_model_that_reads(tmp_path, pair, capsys):
    first, second = pair
    assert main(["average", str(first), str(second), "-o", str(tmp_path / "out"), "--weight", "0.5"]) == 0
    assert "0.5 x" in capsys.readouterr().out
    model, _ = load_model(tmp_path / "out")
    with torch.no_grad():
        logits = model(torch.rand(1, 1, 32, 64), torch.tensor([64]), torch.ones(1, 3, dtype=torch.long))
    assert torch.isfinite(logits).all()


def test_other_geometry_tokenizer_or_weight_is_refused_in_one_sentence(tmp_path, pair, tokenizer, capsys):
    first, _ = pair
    # same tensor shapes, other strides: averaging would mix features of different places
    save_model(tmp_path / "strided", tiny_model(tokenizer, "hybrid_tiny", strides=[[2, 2], [2, 2], [2, 1], [2, 1]]),
               tokenizer)
    with pytest.raises(VitocrError, match=r"different architectures \(encoder differ"):
        average_models(first, tmp_path / "strided", tmp_path / "out")
    reordered = TextTokenizer._from_chars(SPECIAL_TOKENS + sorted(ALPHABET, reverse=True))
    assert reordered.vocab_size == tokenizer.vocab_size
    save_model(tmp_path / "other-chars", tiny_model(reordered, "hybrid_tiny"), reordered)
    with pytest.raises(VitocrError, match="different tokenizers"):
        average_models(first, tmp_path / "other-chars", tmp_path / "out")
    assert main(["average", str(first), str(first), "-o", str(tmp_path / "out"), "--weight", "1.5"]) == 2
    assert "--weight must be between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
