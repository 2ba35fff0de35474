"""Decoding equivalences: KV cache == recomputation, beam 1 == greedy, batching changes nothing."""
import pytest
import torch

from ocr.decoding import beam_search, greedy_search
from ocr.tokenizer import BOS, EOS

from conftest import tiny_model


def images_and_widths(widths, height=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(len(widths), 1, height, max(widths))
    for i, w in enumerate(widths):
        images[i, :, :, :w] = torch.rand(1, height, w, generator=g)
    return images, torch.tensor(widths)


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
def test_kv_cached_decoding_equals_full_recomputation(model, device):
    images, widths = images_and_widths([256, 120, 64])
    model, images, widths = model.to(device), images.to(device), widths.to(device)
    memory, mask = model.encode(images, widths)
    tokens = torch.randint(4, model.decoder.cfg.vocab_size, (3, 12), device=device)
    tokens[:, 0] = BOS
    with torch.no_grad():
        full = model.decoder(tokens, memory, mask)  # (B, T, V), causal attention over all positions at once
        state = model.decoder.start(memory, mask)
        cached = torch.stack([model.decoder.step(tokens[:, t], state) for t in range(12)], dim=1)
    torch.testing.assert_close(cached, full, rtol=1e-4, atol=1e-5)


def test_beam_cache_reordering_equals_recomputing_each_hypothesis(model):
    images, widths = images_and_widths([200, 96])
    hyps = beam_search(model, images, widths, beams=3, length_penalty=0.0, max_length=10)
    memory, mask = model.encode(images, widths)
    for i, hyp in enumerate(hyps):  # rescoring the winner from scratch gives the log-probs the search tracked
        expected = rescore(model, hyp, memory[i:i + 1], mask[i:i + 1])
        torch.testing.assert_close(torch.tensor(hyp.token_logprobs), expected, rtol=1e-4, atol=1e-4)


def test_the_first_step_runs_once_per_image_so_its_beams_must_start_alike(model):
    images, widths = images_and_widths([96])
    memory, mask = model.encode(images, widths)
    state = model.decoder.start(memory, mask, beams=2)
    with pytest.raises(ValueError, match="must start from the same token"):
        model.decoder.step(torch.tensor([BOS, EOS]), state)
    logits = model.decoder.step(torch.tensor([BOS, BOS]), model.decoder.start(memory, mask, beams=2))
    assert logits.shape[0] == 2 and torch.equal(logits[0], logits[1])


def rescore(model, hyp, memory, mask):
    """log p of each token of a hypothesis ([EOS] too when it ended with one), teacher-forced in full precision."""
    tokens = torch.tensor([[BOS] + hyp.ids + ([EOS] if len(hyp.token_logprobs) > len(hyp.ids) else [])])
    with torch.no_grad():
        logits = model.decoder(tokens[:, :-1], memory, mask)[0].float()
    logits[:, :2] = float("-inf")
    return logits.log_softmax(-1).gather(1, tokens[0, 1:, None])[:, 0]


def test_beam_one_equals_greedy(tokenizer):
    for seed in range(3):
        model = tiny_model(tokenizer, seed=seed).eval()
        images, widths = images_and_widths([256, 160, 96, 32], seed=seed)
        greedy = greedy_search(model, images, widths)
        beam = beam_search(model, images, widths, beams=1)
        assert [h.ids for h in beam] == [h.ids for h in greedy]
        for b, g in zip(beam, greedy):
            torch.testing.assert_close(torch.tensor(b.token_logprobs), torch.tensor(g.token_logprobs))


@pytest.mark.parametrize("encoder", ["vit_tiny", "deit_tiny", "swin_tiny", "hybrid_tiny"])
@pytest.mark.parametrize("beams", [1, 4])
def test_a_line_decoded_alone_equals_it_batched_with_wider_lines(tokenizer, encoder, beams):
    model = tiny_model(tokenizer, encoder).eval()
    images, widths = images_and_widths([256, 224, 96, 192])
    search = (lambda *a: beam_search(*a, beams=beams)) if beams > 1 else greedy_search
    batched = search(model, images, widths)
    for i in range(4):
        alone = search(model, images[i:i + 1, :, :, :widths[i]], widths[i:i + 1])[0]
        assert alone.ids == batched[i].ids
        torch.testing.assert_close(torch.tensor(alone.token_logprobs), torch.tensor(batched[i].token_logprobs),
                                   rtol=1e-3, atol=1e-4)


def test_decoding_stops_at_max_length_and_never_emits_specials(model):
    images, widths = images_and_widths([256])
    for hyp in greedy_search(model, images, widths, max_length=6) + beam_search(model, images, widths, 3, max_length=6):
        assert len(hyp.ids) <= 5 and all(t >= 2 for t in hyp.ids)


@pytest.mark.parametrize("encoder", ["vit_tiny", "deit_tiny", "swin_tiny", "hybrid_tiny"])
def test_attention_maps_cover_the_line_grid_and_ignore_padding(tokenizer, encoder):
    from PIL import Image

    from ocr.decoder import cross_attention_weights
    from ocr.recognizer import Recognizer, attention_map

    model = tiny_model(tokenizer, encoder).eval()
    reader = Recognizer(model, tokenizer, "cpu")
    maps, line = attention_map(reader, Image.new("L", (200, 40), 255), "abc")
    assert maps.shape == (4, *model.encoder.grid(line.shape[-1]))  # [BOS] a b c -> predicting a, b, c, [EOS]
    assert maps.min() >= 0 and torch.all(maps.sum(dim=(1, 2)) <= 1 + 1e-5)
    images, widths = images_and_widths([256, 96])
    memory, mask = model.encode(images, widths)
    weights = cross_attention_weights(model.decoder, torch.tensor([[BOS, 5, 6]] * 2), memory, mask)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))
    assert torch.all(weights[1][:, ~mask[1]] == 0)  # nothing flows from padding


@pytest.mark.parametrize("beams", [1, 3])
def test_a_looping_model_stops_where_the_line_ends(model, beams):
    """EOS is forbidden (min_length), as in a model that loops: each line stops at what its width can hold."""
    from ocr.decoding import NARROWEST_CHARACTER

    images, widths = images_and_widths([32, 96])
    search = greedy_search if beams == 1 else beam_search
    kwargs = {} if beams == 1 else {"beams": beams}
    hyps = search(model, images, widths, min_length=1000, **kwargs)
    per_pixel = NARROWEST_CHARACTER * model.height
    assert [len(h.ids) for h in hyps] == [-(-32 // per_pixel) + 2, -(-96 // per_pixel) + 2] == [12, 32]


@pytest.mark.parametrize("encoder", ["vit_tiny", "swin_tiny", "hybrid_tiny"])
def test_ctc_best_path_merges_repeats_drops_blanks_and_ignores_padding(tokenizer, encoder):
    from ocr.decoding import ctc_search
    from ocr.tokenizer import PAD

    model = tiny_model(tokenizer, encoder).eval()
    model.add_ctc_head()
    torch.nn.init.normal_(model.ctc_head.weight, std=1.0)  # sharp, varied column predictions
    images, widths = images_and_widths([256, 96, 192])
    batched = ctc_search(model, images, widths)
    with torch.no_grad():
        logits, columns = model.ctc_columns(*model.encode(images, widths))
    for i, hyp in enumerate(batched):
        path = logits[i, :columns[i]].argmax(-1).tolist()
        expected = [t for j, t in enumerate(path) if t != PAD and (j == 0 or t != path[j - 1])]
        assert hyp.ids == expected and len(hyp.token_logprobs) == len(expected)
        alone = ctc_search(model, images[i:i + 1, :, :, :widths[i]], widths[i:i + 1])[0]
        assert alone.ids == hyp.ids


@pytest.mark.parametrize("frames, expected", [(1, [5]), (2, [5, 5, 5])])
def test_two_ctc_frames_per_column_read_a_doubled_letter(tokenizer, frames, expected):
    from ocr.decoding import ctc_search
    from ocr.tokenizer import PAD

    model = tiny_model(tokenizer, "hybrid_tiny").eval()
    model.add_ctc_head(frames)
    vocab = tokenizer.vocab_size
    with torch.no_grad():  # every column reads token 5 in its first frame, blank in its second
        model.ctc_head.weight.zero_()
        model.ctc_head.bias.zero_()
        model.ctc_head.bias[5] = 10.0
        model.ctc_head.bias[vocab * (frames - 1) + PAD] += 5.0 if frames == 2 else 0.0
    stride = model.encoder.width_multiple
    images, widths = images_and_widths([3 * stride])
    assert ctc_search(model, images, widths)[0].ids == expected


def test_the_recognizer_reads_with_the_decoder_the_model_names(tokenizer):
    from PIL import Image

    from ocr.errors import VitocrError
    from ocr.recognizer import Recognizer

    model = tiny_model(tokenizer)
    with pytest.raises(VitocrError, match="needs a CTC head"):
        Recognizer(model, tokenizer, "cpu", decoder="ctc")
    model.add_ctc_head()
    model.config.decoding = "ctc"
    line = Image.new("L", (120, 32), 255)
    assert Recognizer(model, tokenizer, "cpu").decoder == "ctc"
    ctc, attention = (Recognizer(model, tokenizer, "cpu", decoder=d).recognize([line])[0] for d in ("ctc", "attention"))
    assert len(ctc.char_confidences) == len(ctc.text) and 0 <= ctc.confidence <= 1
    assert Recognizer(model, tokenizer, "cpu", decoder="attention").decoder == "attention"



@pytest.mark.parametrize("bridge", ["linear", "none"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_decoding_under_mixed_precision_tracks_the_full_precision_log_probs(tokenizer, bridge, dtype):
    # the GPU path runs every search under autocast; CPU autocast exercises the same dtype mixing (half-precision
    # cache buffers, -inf masks, float scores) where CI can run it. Without a bridge the decoder reads the encoder's
    # float32 LayerNorm output directly.
    model = (tiny_model(tokenizer) if bridge == "linear" else tiny_model(tokenizer, dim=64, heads=4)).eval()
    assert isinstance(model.bridge, torch.nn.Identity) == (bridge == "none")
    images, widths = images_and_widths([256, 96, 192])
    with torch.autocast("cpu", dtype=dtype):
        hyps = greedy_search(model, images, widths, max_length=12) + beam_search(model, images, widths, beams=3,
                                                                                 max_length=12)
    memory, mask = model.encode(images, widths)
    for i, hyp in enumerate(hyps):
        rescored = rescore(model, hyp, memory[i % 3:i % 3 + 1], mask[i % 3:i % 3 + 1])
        torch.testing.assert_close(torch.tensor(hyp.token_logprobs), rescored, rtol=0, atol=0.1)
