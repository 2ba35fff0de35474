"""Language models (lm.json): Kneser-Ney probabilities, round trips, shallow fusion in beam search, `vitocr lm`."""
import json

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ocr import VitocrError, load_model, save_model
from ocr.charlm import FILE, MixedLM, NgramLM, load_lm
from ocr.cli import main
from ocr.decoding import beam_search
from ocr.recognizer import Recognizer
from ocr.tokenizer import BOS, EOS, PAD
from training.average import average_models

from conftest import tiny_model
from fixtures import gt_folder
from test_decoding import images_and_widths
from test_joint_decoding import ctc_model

TEXTS = ["the quick brown fox", "the lazy dog", "a quick fox"]


def lm_of(tokenizer, texts=TEXTS, order=3):
    return NgramLM.build(tokenizer.encode_batch(texts), tokenizer.tokens, order)


def test_interpolated_kneser_ney_by_hand(tokenizer):
    """Lines "ab", "ab", "b", order 2: bigrams [BOS]a x2, ab x2, b[EOS] x3, [BOS]b x1. Discounts D = n1 / (n1 + 2 n2):
    bigram counts 2, 2, 3, 1 give 1 / 5; unigram continuation counts (a: after [BOS]; b: after a and [BOS]; [EOS]:
    after b) 1, 2, 1 give 2 / 4. Below them, a uniform share u of the tokens a line can hold."""
    a, b = tokenizer.encode("ab")
    lm = NgramLM.build([[a, b], [a, b], [b]], tokenizer.tokens, order=2)
    u = 1 / (tokenizer.vocab_size - 2)
    unigram = {a: (1 - 0.5) / 4 + 0.5 * 3 / 4 * u, b: (2 - 0.5) / 4 + 0.5 * 3 / 4 * u, EOS: 0.5 / 4 + 0.375 * u}
    p = lm.next_logprobs([[]])[0].exp()  # after [BOS]
    assert p[a].item() == pytest.approx((2 - 0.2) / 3 + 0.2 * 2 / 3 * unigram[a])
    assert p[b].item() == pytest.approx((1 - 0.2) / 3 + 0.2 * 2 / 3 * unigram[b])
    assert p[EOS].item() == pytest.approx(0.2 * 2 / 3 * unigram[EOS])
    after_b = lm.next_logprobs([[a, b]])[0].exp()
    assert after_b[EOS].item() == pytest.approx((3 - 0.2) / 3 + 0.2 / 3 * unigram[EOS])
    unseen = lm.next_logprobs([[tokenizer.encode("z")[0]]])[0].exp()  # a context never seen: the unigram
    assert unseen[b].item() == pytest.approx(unigram[b])


def test_every_context_gives_a_distribution_over_the_tokens_a_line_can_hold(tokenizer):
    lm = lm_of(tokenizer, order=4)
    histories = [[], tokenizer.encode("the"), tokenizer.encode("qu"), tokenizer.encode("xyz 9"), tokenizer.encode("a")]
    p = lm.next_logprobs(histories).exp()
    torch.testing.assert_close(p.sum(1), torch.ones(len(histories)))
    assert (p[:, [PAD, BOS]] == 0).all() and (p[:, EOS] > 0).all()
    assert p[1].argmax() == tokenizer.encode(" ")[0]  # "the" is followed by a space in every line
    assert lm.score(tokenizer.encode("the quick fox")) > lm.score(tokenizer.encode("eht kciuq xof"))


def test_a_saved_language_model_reads_back_identically_and_only_for_its_tokenizer(tmp_path, tokenizer):
    lm = lm_of(tokenizer)
    lm.save(tmp_path / FILE)
    loaded = load_lm(tmp_path / FILE, tokenizer.tokens)
    histories = [[], tokenizer.encode("the "), tokenizer.encode("lazy"), tokenizer.encode("qqq")]
    assert torch.equal(loaded.next_logprobs(histories), lm.next_logprobs(histories))
    with pytest.raises(VitocrError, match=rf"{FILE} was built for another tokenizer .*`vitocr lm`"):
        load_lm(tmp_path / FILE, tokenizer.tokens[:-1] + ["§"])
    (tmp_path / FILE).write_text('{"format": "vitocr token n-gram", "order": 2, "tokens": [], "counts": [{}]}')
    with pytest.raises(VitocrError, match=rf"{FILE} is not a readable language model .*order"):
        load_lm(tmp_path / FILE)
    (tmp_path / FILE).write_bytes(b"\x80 not json")
    with pytest.raises(VitocrError, match="not a readable language model"):
        load_lm(tmp_path / FILE)


def test_a_mixture_is_the_share_weighted_sum_of_its_models_and_reads_back_identically(tmp_path, tokenizer):
    own, other = lm_of(tokenizer, order=3), lm_of(tokenizer, ["a marble scene", "the marble"], order=4)
    mixed = MixedLM([(0.75, own), (0.25, other)])
    histories = [[], tokenizer.encode("the "), tokenizer.encode("a mar"), tokenizer.encode("qqq")]
    p = mixed.next_logprobs(histories).exp()
    expected = 0.75 * own.next_logprobs(histories).exp() + 0.25 * other.next_logprobs(histories).exp()
    torch.testing.assert_close(p, expected)
    torch.testing.assert_close(p.sum(1), torch.ones(len(histories)))
    marble = tokenizer.encode("the marble")  # a word only the second model knows
    assert other.score(marble) > mixed.score(marble) > own.score(marble)
    mixed.save(tmp_path / FILE)
    loaded = load_lm(tmp_path / FILE, tokenizer.tokens)
    assert [share for share, _ in loaded.parts] == [0.75, 0.25] and loaded.order == 4
    assert torch.equal(loaded.next_logprobs(histories), mixed.next_logprobs(histories))
    with pytest.raises(ValueError, match="summing to 1"):
        MixedLM([(0.5, own), (0.25, other)])


@pytest.mark.parametrize("joint", [False, True])
def test_a_confident_language_model_writes_its_text_and_the_reported_log_p_stay_the_decoders(tokenizer, joint):
    model = ctc_model(tokenizer) if joint else tiny_model(tokenizer).eval()
    images, widths = images_and_widths([160])
    lm = lm_of(tokenizer, ["fox"] * 50, order=4)
    settings = dict(ctc_weight=0.3, ctc_candidates=tokenizer.vocab_size) if joint else {}
    alone = beam_search(model, images, widths, beams=2, max_length=12, **settings)[0]
    assert tokenizer.decode(alone.ids) != "fox"  # the random model reads otherwise
    hyp = beam_search(model, images, widths, beams=2, max_length=12, lm=lm, lm_weight=20.0, **settings)[0]
    assert tokenizer.decode(hyp.ids) == "fox"
    with torch.no_grad():  # teacher-forced: the decoder's own log p of the tokens it wrote, [EOS] included
        logits = model(images, widths, torch.tensor([[BOS] + hyp.ids]))[0].float()
    logits[:, [PAD, BOS]] = float("-inf")  # tokens a line never holds
    expected = F.log_softmax(logits, -1).gather(1, torch.tensor(hyp.ids + [EOS])[:, None])[:, 0]
    torch.testing.assert_close(torch.tensor(hyp.token_logprobs), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("joint", [False, True])
def test_a_line_read_with_a_language_model_alone_equals_it_batched_with_wider_lines(tokenizer, joint):
    model = ctc_model(tokenizer) if joint else tiny_model(tokenizer).eval()
    lm, settings = lm_of(tokenizer), dict(beams=3, max_length=16, lm_weight=0.5, ctc_weight=0.5 if joint else 0.0)
    images, widths = images_and_widths([256, 96, 160])
    batched = beam_search(model, images, widths, lm=lm, **settings)
    for i, hyp in enumerate(batched):
        alone = beam_search(model, images[i:i + 1, :, :, :widths[i]], widths[i:i + 1], lm=lm, **settings)[0]
        assert alone.ids == hyp.ids
        assert alone.score == pytest.approx(hyp.score, rel=1e-4, abs=1e-4)


@pytest.fixture
def folder(tmp_path, tokenizer):
    save_model(tmp_path / "model", tiny_model(tokenizer), tokenizer)
    (tmp_path / "text.txt").write_text("\n".join(TEXTS) + "\n\n", encoding="utf-8")
    gt_folder(tmp_path / "gt", TEXTS)
    return tmp_path / "model"


def test_the_command_writes_a_model_that_reads_with_its_language_model(tmp_path, tokenizer, folder, capsys):
    assert main(["lm", str(folder), str(tmp_path / "text.txt"), "-o", str(tmp_path / "out"), "--order", "3"]) == 0
    assert "3-gram model of 3 lines" in capsys.readouterr().out
    out = tmp_path / "out"
    assert json.loads((out / "config.json").read_text())["lm_weight"] == 0.3
    assert torch.equal(load_model(out)[0].state_dict()["decoder.head.weight"],
                       load_model(folder)[0].state_dict()["decoder.head.weight"])
    reader = Recognizer.load(out, device="cpu")
    histories = [[], tokenizer.encode("the")]
    assert torch.equal(reader.lm.next_logprobs(histories), lm_of(tokenizer).next_logprobs(histories))
    line = Image.effect_noise((64, 32), 60).convert("L")
    batch, widths = reader.prepare(line)[None], torch.tensor([64])
    for beams, lm_weight in [(2, 0.3), (1, 0.0)]:  # 1 beam reads greedily, without the language model
        expected = beam_search(reader.model, batch, widths, beams=beams, lm=reader.lm, lm_weight=lm_weight)[0]
        assert reader.recognize([line], beams=beams)[0].text == tokenizer.decode(expected.ids)
    assert Recognizer.load(out, device="cpu", lm_weight=0).lm is None
    assert main(["eval", str(tmp_path / "gt"), "--model", str(out), "--beams", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["read_with"] == "decoder, 2 beams, language model x 0.3"
    assert main(["eval", str(tmp_path / "gt"), "--model", str(out), "--beams", "1", "--lm-weight", "0.5"]) == 0
    assert "read with: decoder, greedy\n" in capsys.readouterr().out
    average_models(out, folder, tmp_path / "average")  # reading settings, the language model among them, go along
    assert (tmp_path / "average" / FILE).read_bytes() == (out / FILE).read_bytes()
    (out / FILE).unlink()
    with pytest.raises(VitocrError, match=rf"weight of 0.3 needs the model folder's {FILE}.*--lm-weight 0"):
        Recognizer.load(out, device="cpu")


def test_the_command_reads_line_sets_and_reports_what_it_cannot_use(tmp_path, folder, capsys):
    sets = tmp_path / "lines"
    sets.mkdir()
    (sets / "a.png").write_bytes(b"")  # only the text of a line set is read
    (sets / "a.gt.txt").write_text("a quick dog ü\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    args = ["lm", str(folder), str(sets), str(tmp_path / "latin1.txt"), "-o", str(folder), "--weight", "0.5"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "latin1.txt: not UTF-8 text" in out and "cannot write 1 character(s) of the text ('ü')" in out
    assert "model of 1 lines" in out and json.loads((folder / "config.json").read_text())["lm_weight"] == 0.5
    assert main(["lm", str(folder), "-o", str(tmp_path / "x")]) == 2
    assert main(["lm", str(folder), str(tmp_path / "latin1.txt"), "-o", str(tmp_path / "x")]) == 2
    assert "no text to count in" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_command_mixes_in_a_background_with_its_share(tmp_path, tokenizer, folder, capsys):
    (tmp_path / "back.txt").write_text("a marble scene\nthe marble hall\n", encoding="utf-8")
    args = ["lm", str(folder), str(tmp_path / "text.txt"), "-o", str(tmp_path / "out"), "--order", "3"]
    assert main(args + ["--background", str(tmp_path / "back.txt"), "--background-share", "0.25"]) == 0
    said = capsys.readouterr().out
    assert "3-gram model of 3 lines (42 characters), 0.75 of a mixture with one of 2 background lines" in said
    reader = Recognizer.load(tmp_path / "out", device="cpu")
    expected = MixedLM([(0.75, lm_of(tokenizer)), (0.25, lm_of(tokenizer, ["a marble scene", "the marble hall"]))])
    histories = [[], tokenizer.encode("the m"), tokenizer.encode("lazy")]
    assert torch.equal(reader.lm.next_logprobs(histories), expected.next_logprobs(histories))
    assert main(args + ["--background", str(tmp_path / "back.txt"), "--background-share", "1"]) == 2
    assert "--background-share is the background's part of the mixture, between 0 and 1" in capsys.readouterr().err


def test_the_english_background_knows_the_words_a_small_text_never_used(tokenizer):
    from training.language_model import english_lines

    pytest.importorskip("wordfreq")
    lines = english_lines(words=20_000)
    assert len(lines) == 2223 and lines == english_lines(words=20_000)  # 9 words a line, the same for a seed
    words = [w.lower() for line in lines for w in line.split()]
    assert words.count("the") > 500 and "marble" not in " ".join(TEXTS)
    own = lm_of(tokenizer, order=4)
    mixed = MixedLM([(0.7, own), (0.3, NgramLM.build(tokenizer.encode_batch(lines), tokenizer.tokens, 4))])
    for text in ["the marble", "the people of the world"]:
        assert mixed.score(tokenizer.encode(text)) > own.score(tokenizer.encode(text))


def test_a_recipe_gives_its_training_lines_and_never_its_held_out_ones(tmp_path, folder, capsys):
    from training.language_model import corpus_lines
    from training.setup import held_out_lines

    data = gt_folder(tmp_path / "pages")  # three page groups of four lines
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"train: ['{data}']\nval_fraction: 0.3\nseed: 3\n", encoding="utf-8")
    counted, held_out = corpus_lines([], recipe), [s.text for s in held_out_lines(recipe)]
    assert len(counted) == 8 and len(held_out) == 4 and not set(counted) & set(held_out)
    assert main(["lm", str(folder), "--recipe", str(recipe), "-o", str(tmp_path / "out")]) == 0
    assert "a 5-gram model of 8 lines" in capsys.readouterr().out
