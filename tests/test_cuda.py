"""The GPU path: beam 1 == greedy == the CPU on CUDA, joint decoding with a language model or in two views,
autocast decoding, mixed-precision training, CPU == GPU reading.

Skipped where no CUDA device is present (CI); run on a GPU machine with `pytest tests/test_cuda.py
tests/test_decoding.py` (the KV-cache equivalence runs there on both devices).
"""
from pathlib import Path

import pytest
import torch

import ocr
from ocr.decoding import beam_search, greedy_search
from ocr.metrics import cer
from ocr.recognizer import Recognizer
from training.trainer import train

from conftest import tiny_model
from test_decoding import CUDA, images_and_widths, rescore
from test_trainer import overfit_config

pytestmark = CUDA
SAMPLE = Path(ocr.__file__).parent / "samples" / "sample-page.png"


@pytest.fixture(autouse=True)
def exact_float32_matmul():
    # TF32 would make float32 results differ from the CPU's in the 3rd digit; these tests compare exactly
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def on_cuda(model, widths, seed=0):
    images, widths = images_and_widths(widths, seed=seed)
    return model.cuda(), images.cuda(), widths.cuda()


def test_beam_one_equals_greedy_and_both_equal_the_cpu_on_cuda(tokenizer):
    for seed in range(3):
        cpu_model = tiny_model(tokenizer, seed=seed).eval()
        cpu_images, cpu_widths = images_and_widths([256, 160, 96, 32], seed=seed)
        on_cpu = greedy_search(cpu_model, cpu_images, cpu_widths)
        model, images, widths = on_cuda(cpu_model, [256, 160, 96, 32], seed=seed)
        greedy = greedy_search(model, images, widths)
        beam = beam_search(model, images, widths, beams=1)
        assert [h.ids for h in beam] == [h.ids for h in greedy] == [h.ids for h in on_cpu]
        for b, g in zip(beam, greedy):
            torch.testing.assert_close(torch.tensor(b.token_logprobs), torch.tensor(g.token_logprobs))


def test_joint_beam_search_with_a_language_model_reads_on_cuda_as_on_the_cpu(tokenizer):
    from ocr.charlm import NgramLM
    from test_joint_decoding import ctc_model

    lm = NgramLM.build(tokenizer.encode_batch(["the quick brown fox", "a lazy dog"]), tokenizer.tokens, order=3)
    cpu_model = ctc_model(tokenizer)
    cpu_images, cpu_widths = images_and_widths([256, 160, 96])
    settings = dict(beams=3, max_length=16, ctc_weight=0.5, lm=lm, lm_weight=0.5)
    on_cpu = beam_search(cpu_model, cpu_images, cpu_widths, **settings)
    model, images, widths = on_cuda(cpu_model, [256, 160, 96])
    assert [h.ids for h in beam_search(model, images, widths, **settings)] == [h.ids for h in on_cpu]


def test_joint_beam_search_in_two_views_reads_on_cuda_as_on_the_cpu(tokenizer):
    from test_joint_decoding import ctc_model
    from test_views import squeezed

    cpu_model = ctc_model(tokenizer)
    images, widths = images_and_widths([256, 160, 96])
    view = squeezed(images, widths)
    settings = dict(beams=3, max_length=16, ctc_weight=0.5)
    on_cpu = beam_search(cpu_model, images, widths, more_views=[view], **settings)
    model = cpu_model.cuda()
    on_gpu = beam_search(model, images.cuda(), widths.cuda(), more_views=[tuple(t.cuda() for t in view)], **settings)
    assert [h.ids for h in on_gpu] == [h.ids for h in on_cpu]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_beam_search_on_cuda_tracks_the_full_precision_log_probs(tokenizer, dtype):
    model, images, widths = on_cuda(tiny_model(tokenizer).eval(), [256, 96, 192])
    with torch.autocast("cuda", dtype=dtype):
        hyps = greedy_search(model, images, widths, max_length=12) + beam_search(model, images, widths, beams=3,
                                                                                 max_length=12)
    memory, mask = model.cpu().encode(images.cpu(), widths.cpu())
    for i, hyp in enumerate(hyps):
        rescored = rescore(model, hyp, memory[i % 3:i % 3 + 1], mask[i % 3:i % 3 + 1])
        torch.testing.assert_close(torch.tensor(hyp.token_logprobs), rescored, rtol=0, atol=0.1)


@pytest.mark.parametrize("beams", [1, 4])
def test_the_bundled_model_reads_the_sample_page_alike_on_gpu_and_cpu(beams):
    # the GPU reads under bf16/fp16 autocast: a rare near-tie may flip, so compare by edit distance, not exactly
    cpu = ocr.transcribe(SAMPLE, device="cpu", beams=beams).pages[0].lines
    gpu = ocr.transcribe(SAMPLE, device="cuda", beams=beams).pages[0].lines
    assert [line.box for line in gpu] == [line.box for line in cpu] and len(cpu) > 5
    error_rate = cer([line.text for line in gpu], [line.text for line in cpu])
    assert error_rate < 0.005, [(c.text, g.text) for c, g in zip(cpu, gpu) if c.text != g.text]


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_a_mixed_precision_gpu_run_learns_one_batch_exactly(tmp_path, precision, capsys):
    progress = train(overfit_config(tmp_path, precision=precision))
    assert progress["best_cer"] == 0.0, capsys.readouterr().out[-2000:]
    reloaded = Recognizer.load(tmp_path / "run" / "best", device="cpu")  # a GPU-trained model reads on the CPU
    assert next(reloaded.model.parameters()).device.type == "cpu"
