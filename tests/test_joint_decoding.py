"""Joint decoding: CTC prefix scores are exact CTC probabilities, and beam search ranked by decoder + CTC head."""
import pytest
import torch
import torch.nn.functional as F

from ocr.ctc_prefix import BLANK, CTCPrefixScorer
from ocr.decoding import beam_search
from ocr.errors import VitocrError
from ocr.model import ModelConfig
from ocr.recognizer import Recognizer

from conftest import tiny_model
from test_decoding import images_and_widths


def frames(B=3, T=12, V=7, lengths=(12, 9, 5), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, V, generator=g).mul(2).log_softmax(-1), torch.tensor(lengths)


def follow(scorer, labellings, beams):
    """Extend hypothesis n by labellings[n] one label at a time; the prefix scores of each step."""
    N, psis = len(labellings), []
    for step in range(len(labellings[0])):
        chosen = torch.tensor([[lab[step]] for lab in labellings])  # (N, 1)
        psi, extended = scorer.extend(chosen)
        psis.append(psi[:, 0])
        keep = torch.arange(beams).repeat(N // beams).view(-1, beams)
        scorer.advance(extended, keep, torch.zeros_like(keep), chosen.view(-1, beams))
    return psis


def test_the_score_of_a_whole_labelling_is_its_ctc_likelihood():
    logp, lengths = frames()
    labellings = [[4, 4, 5], [5, 6, 4], [3, 3, 3], [6, 1, 2], [4, 5, 6], [2, 2, 1]]  # beams 0 and 1 of 3 lines
    scorer = CTCPrefixScorer(logp, lengths, beams=2)
    follow(scorer, labellings, beams=2)
    image = torch.arange(6) // 2
    expected = -F.ctc_loss(logp[image].transpose(0, 1), torch.tensor(labellings), lengths[image],
                           torch.full((6,), 3), blank=BLANK, reduction="none")
    torch.testing.assert_close(scorer.full(), expected)


def test_prefix_scores_split_the_probability_of_their_prefix():
    """P(reading starts with g) = P(reading is g) + sum over labels c of P(reading starts with g + c)."""
    logp, lengths = frames(B=1, lengths=(10,))
    V = logp.shape[-1]
    labels = torch.tensor([c for c in range(V) if c != BLANK])
    scorer = CTCPrefixScorer(logp, lengths, beams=1)
    psi_g = torch.zeros(1)  # the empty prefix: certain
    for label in [4, 4, 2]:
        psi, _ = scorer.extend(labels[None])
        torch.testing.assert_close(torch.logsumexp(torch.cat([scorer.full(), psi[0]]), 0), psi_g[0])
        psi_g = follow(scorer, [[label]], beams=1)[0]


def extend_frame_by_frame(scorer, candidates):
    """The textbook recursion (Watanabe et al. 2017, Algorithm 2), one frame at a time: the reference."""
    (T, B, _), (N, C) = scorer.x.shape, candidates.shape
    xs = scorer.x.gather(2, candidates.view(1, B, -1).expand(T, B, -1)).view(T, N, C)
    xb = scorer.x[:, :, BLANK, None].repeat_interleave(scorer.beams, dim=1)
    total = torch.logaddexp(scorer.r[:, :, 0], scorer.r[:, :, 1])
    phi = torch.where(candidates[None] == scorer.last[None, :, None], scorer.r[:, :, 1, None], total[:, :, None])
    r = torch.full((T, N, C, 2), float("-inf"))
    if scorer.length == 0:
        r[0, :, :, 0] = xs[0]
    start = max(scorer.length, 1)
    psi = r[min(start, T) - 1, :, :, 0].clone()
    for t in range(start, T):
        r[t, :, :, 0] = torch.logaddexp(r[t - 1, :, :, 0], phi[t - 1]) + xs[t]
        r[t, :, :, 1] = torch.logaddexp(r[t - 1, :, :, 0], r[t - 1, :, :, 1]) + xb[t]
        psi = torch.logaddexp(psi, phi[t - 1] + xs[t])
    return psi, r


@pytest.mark.parametrize("T, lengths", [(12, (12, 9, 5)), (3, (3, 2, 1)), (60, (60, 41, 4))])
def test_prefix_scores_over_all_frames_at_once_equal_the_frame_by_frame_recursion(T, lengths):
    """Repeated labels, lines shorter than the batch, and prefixes longer than their line (impossible: -inf)."""
    logp, lengths = frames(T=T, V=9, lengths=lengths, seed=T)
    scorer = CTCPrefixScorer(logp, lengths, beams=2)
    g = torch.Generator().manual_seed(1)
    for step in range(6):
        candidates = torch.randint(1, 9, (6, 4), generator=g)
        candidates[:, 0] = scorer.last.clamp(min=1)  # a repeat of each hypothesis' last label
        psi, extended = scorer.extend(candidates)
        expected_psi, expected_r = extend_frame_by_frame(scorer, candidates)
        torch.testing.assert_close(psi, expected_psi, atol=1e-4, rtol=1e-5)
        beam, choice = torch.tensor([[1, 0]] * 3), torch.tensor([[step % 4, 0]] * 3)
        scorer.advance(extended, beam, choice, candidates.view(3, 2, 4)[torch.arange(3)[:, None], beam, choice])
        rows = (torch.arange(3)[:, None] * 2 + beam).view(-1)  # the kept extensions' frames
        torch.testing.assert_close(scorer.r, expected_r[:, rows, choice.view(-1)], atol=1e-4, rtol=1e-5)  # -inf too
    assert torch.isinf(scorer.full()).any()  # the impossible case was met: a line of fewer frames than labels


def ctc_model(tokenizer, encoder="hybrid_tiny"):
    model = tiny_model(tokenizer, encoder).eval()
    model.add_ctc_head(frames=2)
    torch.nn.init.normal_(model.ctc_head.weight, std=1.0)
    return model


def test_joint_decoding_reads_what_a_confident_ctc_head_reads(tokenizer):
    model = ctc_model(tokenizer)
    vocab = tokenizer.vocab_size
    with torch.no_grad():  # every column reads token 5, then a blank: "5 5 5" over three columns
        model.ctc_head.weight.zero_()
        model.ctc_head.bias.zero_()
        model.ctc_head.bias[5] = 10.0
        model.ctc_head.bias[vocab + BLANK] = 10.0
    images, widths = images_and_widths([3 * model.encoder.width_multiple])
    assert beam_search(model, images, widths, beams=1)[0].ids != [5, 5, 5]  # the random decoder reads otherwise
    for beams in (1, 3):
        assert beam_search(model, images, widths, beams=beams, ctc_weight=0.9, ctc_candidates=vocab)[0].ids == [5, 5, 5]


@pytest.mark.parametrize("encoder", ["vit_tiny", "hybrid_tiny"])
def test_a_line_decoded_jointly_alone_equals_it_batched_with_wider_lines(tokenizer, encoder):
    model = ctc_model(tokenizer, encoder)
    images, widths = images_and_widths([256, 96, 160])
    batched = beam_search(model, images, widths, beams=3, ctc_weight=0.5, max_length=16)
    for i, hyp in enumerate(batched):
        alone = beam_search(model, images[i:i + 1, :, :, :widths[i]], widths[i:i + 1], beams=3, ctc_weight=0.5,
                            max_length=16)[0]
        assert alone.ids == hyp.ids
        assert alone.score == pytest.approx(hyp.score, rel=1e-4, abs=1e-4)


def test_joint_decoding_needs_a_ctc_head_and_a_weight_below_one(tokenizer):
    model = tiny_model(tokenizer).eval()
    images, widths = images_and_widths([96])
    with pytest.raises(ValueError, match="needs a CTC head"):
        beam_search(model, images, widths, ctc_weight=0.5)
    with pytest.raises(ValueError, match=r"ctc_weight must be in \[0, 1\)"):
        beam_search(model, images, widths, ctc_weight=1.0)
    with pytest.raises(VitocrError, match="--decoder joint needs a CTC head"):
        Recognizer(model, tokenizer, "cpu", decoder="joint")


def test_the_recognizer_reads_jointly_with_the_models_weight(tokenizer):
    from PIL import Image

    model = ctc_model(tokenizer)
    model.config.decoding, model.config.joint_weight = "joint", 0.3
    model.decoder.cfg.max_length = 16  # a random decoder writes to the limit: keep the test short
    assert ModelConfig.from_dict(model.config.to_dict()).joint_weight == 0.3
    recognizer = Recognizer(model, tokenizer, "cpu")
    line = Image.effect_noise((160, 32), 60).convert("L")
    result = recognizer.recognize([line], beams=2)[0]
    batch = recognizer.prepare(line)[None]
    expected = beam_search(model, batch, torch.tensor([batch.shape[-1]]), beams=2, ctc_weight=0.3)[0]
    assert result.text == tokenizer.decode(expected.ids)
    assert len(result.char_confidences) == len(result.text)


def test_the_recognizer_reads_with_the_models_own_beam_width_unless_told(tokenizer, monkeypatch):
    """`vitocr transcribe` and `vitocr eval` without --beams read alike: with the width in config.json."""
    from PIL import Image

    import ocr.recognizer

    model = ctc_model(tokenizer)
    model.config.decoding, model.config.beams = "joint", 3
    assert ModelConfig.from_dict(model.config.to_dict()).beams == 3
    assert ModelConfig.from_dict({k: v for k, v in model.config.to_dict().items() if k != "beams"}).beams == 4
    model.decoder.cfg.max_length = 8
    widths = []
    monkeypatch.setattr(ocr.recognizer, "beam_search",
                        lambda *args, **kwargs: widths.append(args[3]) or beam_search(*args, **kwargs))
    recognizer = Recognizer(model, tokenizer, "cpu")
    line = Image.effect_noise((96, 32), 60).convert("L")
    recognizer.recognize([line])
    recognizer.recognize([line], beams=1)
    assert widths == [3, 1]
    with pytest.raises(VitocrError, match="at least 1"):
        recognizer.recognize([line], beams=0)
