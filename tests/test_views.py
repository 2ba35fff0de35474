"""Reading a line through several views (copies of it, zoomed out or squeezed): the search averages their votes."""
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ocr.decoding import beam_search
from ocr.errors import VitocrError
from ocr.model import ModelConfig
from ocr.preprocess import collate_lines
from ocr.recognizer import VIEWS, Recognizer

from test_decoding import images_and_widths, rescore
from test_joint_decoding import ctc_model


def squeezed(images, widths, scale=0.75):
    """The same lines, narrower (multiples of 8 px): a second view whose encoder features differ from the first's."""
    lines = [F.interpolate(images[i:i + 1, :, :, :w], size=(images.shape[2], max(8, int(w * scale) // 8 * 8)),
                           mode="bilinear")[0] for i, w in enumerate(widths.tolist())]
    return collate_lines(lines)


@pytest.mark.parametrize("beams, ctc_weight", [(1, 0.0), (3, 0.0), (3, 0.5)])
def test_a_view_read_twice_reads_as_the_view_once(tokenizer, beams, ctc_weight):
    model = ctc_model(tokenizer)
    images, widths = images_and_widths([256, 96, 160])
    once = beam_search(model, images, widths, beams=beams, ctc_weight=ctc_weight, max_length=16)
    twice = beam_search(model, images, widths, beams=beams, ctc_weight=ctc_weight, max_length=16,
                        more_views=[(images.clone(), widths.clone())])
    assert [h.ids for h in twice] == [h.ids for h in once]
    # the copies are rows of a batch twice as tall, whose matrix products may round the last bits otherwise
    for a, b in zip(twice, once):
        torch.testing.assert_close(torch.tensor(a.token_logprobs), torch.tensor(b.token_logprobs), rtol=1e-5, atol=1e-5)
        assert a.score == pytest.approx(b.score, rel=1e-5, abs=1e-5)


def test_a_hypothesis_log_p_is_the_mean_of_its_views_log_p(model):
    images, widths = images_and_widths([200, 96])
    narrow, narrow_widths = squeezed(images, widths)
    hyps = beam_search(model, images, widths, beams=3, length_penalty=0.0, max_length=10,
                       more_views=[(narrow, narrow_widths)])
    wide, small = model.encode(images, widths), model.encode(narrow, narrow_widths)
    for i, hyp in enumerate(hyps):  # rescoring the winner from scratch through each view, then averaging
        expected = (rescore(model, hyp, wide[0][i:i + 1], wide[1][i:i + 1])
                    + rescore(model, hyp, small[0][i:i + 1], small[1][i:i + 1])) / 2
        torch.testing.assert_close(torch.tensor(hyp.token_logprobs), expected, rtol=1e-4, atol=1e-4)


def test_a_line_read_in_two_views_alone_equals_it_batched_with_wider_lines(tokenizer):
    model = ctc_model(tokenizer)
    images, widths = images_and_widths([256, 96, 160])
    narrow, narrow_widths = squeezed(images, widths)
    batched = beam_search(model, images, widths, beams=3, ctc_weight=0.5, max_length=16,
                          more_views=[(narrow, narrow_widths)])
    for i, hyp in enumerate(batched):
        w, n = int(widths[i]), int(narrow_widths[i])
        alone = beam_search(model, images[i:i + 1, :, :, :w], widths[i:i + 1], beams=3, ctc_weight=0.5,
                            max_length=16, more_views=[(narrow[i:i + 1, :, :, :n], narrow_widths[i:i + 1])])[0]
        assert alone.ids == hyp.ids
        assert alone.score == pytest.approx(hyp.score, rel=1e-4, abs=1e-4)


def test_the_recognizer_reads_its_models_views(tokenizer):
    model = ctc_model(tokenizer)
    model.config.decoding, model.config.views = "joint", 2
    model.decoder.cfg.max_length = 16
    assert ModelConfig.from_dict(model.config.to_dict()).views == 2
    assert ModelConfig.from_dict({k: v for k, v in model.config.to_dict().items() if k != "views"}).views == 1
    recognizer = Recognizer(model, tokenizer, "cpu")
    line = Image.effect_noise((160, 32), 60).convert("L")
    result = recognizer.recognize([line], beams=2)[0]
    first, second = recognizer.prepare(line), recognizer.prepare(line, **VIEWS[1][1])
    assert second.shape[-1] < first.shape[-1] and second.shape[-2] == first.shape[-2]
    expected = beam_search(model, first[None], torch.tensor([first.shape[-1]]), beams=2, ctc_weight=0.5,
                           more_views=[(second[None], torch.tensor([second.shape[-1]]))])[0]
    assert result.text == tokenizer.decode(expected.ids)
    assert recognizer.reading(2) == "joint (decoder + CTC head), 2 beams, 2 views (as is, zoomed out)"
    assert Recognizer(model, tokenizer, "cpu", views=1).reading(2) == "joint (decoder + CTC head), 2 beams"


def test_views_need_a_reader_that_searches_and_a_known_count(tokenizer):
    model = ctc_model(tokenizer)
    with pytest.raises(VitocrError, match=f"1 to {len(VIEWS)} views, not 4"):
        Recognizer(model, tokenizer, "cpu", views=4)
    with pytest.raises(VitocrError, match="2 views need the attention or joint decoder"):
        Recognizer(model, tokenizer, "cpu", decoder="ctc", views=2)
    model.config.views = 3  # the model's own views: its CTC reader still reads (one view)
    assert Recognizer(model, tokenizer, "cpu", decoder="ctc").views == 1
    assert Recognizer(model, tokenizer, "cpu", decoder="attention").views == 3


def test_a_zoomed_out_view_is_the_line_at_a_smaller_height_between_bands_of_paper():
    from ocr.preprocess import line_to_tensor

    line = Image.effect_noise((150, 30), 80).convert("L")
    zoomed = line_to_tensor(line, 48, 8, 1024, margin=0.2)  # inner height 48 / 1.4 = 34 rows, from row 7
    small = line_to_tensor(line, 34, 1, 1024)  # the same line preprocessed at that height: 170 columns
    assert zoomed.shape == (1, 48, 176) and small.shape == (1, 34, 170)
    assert torch.equal(zoomed[:, 7:41, :170], small)
    assert not zoomed[:, :7].any() and not zoomed[:, 41:].any() and not zoomed[:, :, 170:].any()
    narrow = line_to_tensor(line, 48, 8, 1024, width_scale=0.9)  # 240 columns * 0.9 = 216
    assert narrow.shape == (1, 48, 216) and narrow[0, :, :216].any(0).float().mean() > 0.9
