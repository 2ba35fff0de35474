"""A model is one folder; it round-trips exactly and a wrong folder is refused in one sentence."""
import json

import pytest
import torch

from ocr import Recognizer, VitocrError, load_model, save_model
from ocr.decoding import beam_search
from ocr.model import OCRModel

from conftest import tiny_model


@pytest.mark.parametrize("encoder", ["vit_tiny", "deit_tiny", "swin_tiny", "hybrid_tiny"])
def test_round_trip_gives_identical_decoding(tmp_path, tokenizer, encoder):
    model = tiny_model(tokenizer, encoder).eval()
    save_model(tmp_path / "m", model, tokenizer)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    loaded, tok = load_model(tmp_path / "m")
    images, widths = torch.rand(2, 1, 32, 128), torch.tensor([128, 64])
    with torch.no_grad():
        torch.testing.assert_close(loaded(images, widths, torch.ones(2, 5, dtype=torch.long)),
                                   model(images, widths, torch.ones(2, 5, dtype=torch.long)), rtol=0, atol=0)
    assert [h.ids for h in beam_search(loaded, images, widths, 3)] == [h.ids for h in beam_search(model, images, widths, 3)]
    assert tok.encode("abc") == tokenizer.encode("abc")


@pytest.mark.parametrize("encoder", ["vit_tiny", "swin_tiny", "hybrid_tiny"])
def test_channels_last_weights_read_alike_and_save_the_same_file(tmp_path, tokenizer, encoder):
    model = tiny_model(tokenizer, encoder).eval()
    save_model(tmp_path / "contiguous", model, tokenizer)
    fast = tiny_model(tokenizer, encoder).eval().channels_last()
    assert any(not p.is_contiguous() for p in fast.parameters())  # the convolutions' weights
    save_model(tmp_path / "channels-last", fast, tokenizer)
    assert ((tmp_path / "contiguous" / "model.safetensors").read_bytes()
            == (tmp_path / "channels-last" / "model.safetensors").read_bytes())
    images, widths = torch.rand(2, 1, 32, 128), torch.tensor([128, 64])
    with torch.no_grad():
        torch.testing.assert_close(fast(images, widths, torch.ones(2, 5, dtype=torch.long)),
                                   model(images, widths, torch.ones(2, 5, dtype=torch.long)))
    assert [h.ids for h in beam_search(fast, images, widths, 3)] == [h.ids for h in beam_search(model, images, widths, 3)]


def test_saving_over_an_existing_model_replaces_it_whole(tmp_path, tokenizer):
    save_model(tmp_path / "m", tiny_model(tokenizer, seed=1), tokenizer)
    second = tiny_model(tokenizer, seed=2)
    save_model(tmp_path / "m", second, tokenizer)
    loaded, _ = load_model(tmp_path / "m")
    torch.testing.assert_close(loaded.decoder.head.weight, second.decoder.head.weight)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary folders left behind


def test_missing_folder_and_missing_files_are_named(tmp_path, tokenizer):
    with pytest.raises(VitocrError, match="no such model folder"):
        load_model(tmp_path / "nope")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(VitocrError, match=r"half is not a vitocr model folder: model.safetensors, tokenizer.json missing"):
        load_model(tmp_path / "half")


def test_mismatched_files_are_refused(tmp_path, tokenizer):
    save_model(tmp_path / "a", tiny_model(tokenizer), tokenizer)
    save_model(tmp_path / "b", tiny_model(tokenizer, "swin_tiny"), tokenizer)
    (tmp_path / "b" / "model.safetensors").replace(tmp_path / "a" / "model.safetensors")
    with pytest.raises(VitocrError, match="does not match config.json"):
        load_model(tmp_path / "a")
    save_model(tmp_path / "c", tiny_model(tokenizer), tokenizer)
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    config["decoder"]["vocab_size"] += 1
    (tmp_path / "c" / "config.json").write_text(json.dumps(config))
    with pytest.raises(VitocrError, match="tokenizer.json has .* tokens but config.json expects"):
        load_model(tmp_path / "c")


def test_a_pickle_is_never_loaded(tmp_path, tokenizer):
    save_model(tmp_path / "m", tiny_model(tokenizer), tokenizer)
    torch.save({"x": torch.zeros(1)}, tmp_path / "m" / "model.safetensors")  # a pickle under the expected name
    with pytest.raises(VitocrError, match="not a readable safetensors file"):
        load_model(tmp_path / "m")


def test_growing_the_vocabulary_keeps_learned_rows(tokenizer):
    model = tiny_model(tokenizer)
    old_embed, old_head = model.decoder.token_embed.weight.detach().clone(), model.decoder.head.weight.detach().clone()
    model.resize_vocab(tokenizer.vocab_size + 3)
    assert torch.equal(model.decoder.token_embed.weight[: tokenizer.vocab_size], old_embed)
    assert torch.equal(model.decoder.head.weight[: tokenizer.vocab_size], old_head)
    assert model.config.decoder.vocab_size == tokenizer.vocab_size + 3
    assert isinstance(OCRModel(model.config), OCRModel)


def test_recognizer_returns_text_and_one_confidence_per_character(tmp_path, tokenizer):
    from PIL import Image

    save_model(tmp_path / "m", tiny_model(tokenizer), tokenizer)
    reader = Recognizer.load(tmp_path / "m", device="cpu")
    lines = [Image.new("L", (300, 40), 255), Image.new("L", (90, 30), 200)]
    for result in reader.recognize(lines, beams=2) + reader.recognize(lines, beams=1):
        assert len(result.char_confidences) == len(result.text)
        assert 0.0 < result.confidence <= 1.0 and all(0.0 < c <= 1.0 for c in result.char_confidences)


@pytest.mark.parametrize("frames", [1, 2])
def test_a_ctc_model_keeps_its_head_and_its_reader_through_save_and_load(tmp_path, tokenizer, frames):
    from ocr.decoding import ctc_search

    model = tiny_model(tokenizer, "hybrid_tiny").eval()
    model.add_ctc_head(frames)
    model.config.decoding = "ctc"
    save_model(tmp_path / "m", model, tokenizer)
    loaded, _ = load_model(tmp_path / "m")
    assert loaded.config.ctc and loaded.config.decoding == "ctc"
    assert Recognizer(loaded, tokenizer, "cpu").decoder == "ctc"
    images, widths = torch.rand(2, 1, 32, 128), torch.tensor([128, 64])
    assert [h.ids for h in ctc_search(loaded, images, widths)] == [h.ids for h in ctc_search(model, images, widths)]
    loaded.resize_vocab(tokenizer.vocab_size + 3)  # charset growth keeps every frame's rows too
    with torch.no_grad():
        memory, mask = model.encode(images, widths)
        grown, old = loaded.ctc_columns(memory, mask)[0], model.ctc_columns(memory, mask)[0]
    torch.testing.assert_close(grown[..., :tokenizer.vocab_size], old)
