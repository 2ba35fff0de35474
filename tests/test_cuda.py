"""The GPU path: the decoding equivalences on CUDA, autocast decoding, mixed-precision training, CPU == GPU reading.

Skipped where no CUDA device is present (CI); run on a GPU machine with `pytest tests/test_cuda.py`.
"""
from pathlib import Path

import pytest
import torch

import ocr
from ocr.decoding import beam_search, greedy_search
from ocr.metrics import cer
from ocr.recognizer import Recognizer
from ocr.tokenizer import BOS
from training.config import TrainConfig
from training.trainer import train

from conftest import tiny_model
from fixtures import WORDS, gt_folder
from test_decoding import images_and_widths, rescore

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
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


def test_kv_cached_decoding_equals_full_recomputation_on_cuda(model):
    model, images, widths = on_cuda(model, [256, 120, 64])
    memory, mask = model.encode(images, widths)
    tokens = torch.randint(4, model.decoder.cfg.vocab_size, (3, 12), device="cuda")
    tokens[:, 0] = BOS
    with torch.no_grad():
        full = model.decoder(tokens, memory, mask)
        state = model.decoder.start(memory, mask)
        cached = torch.stack([model.decoder.step(tokens[:, t], state) for t in range(12)], dim=1)
    torch.testing.assert_close(cached, full, rtol=1e-4, atol=1e-5)


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
    data = gt_folder(tmp_path / "gt", WORDS[:4])
    cfg = TrainConfig(train=[str(data)], val=[str(data)], steps=300, val_every=300, output=str(tmp_path / "run"),
                      encoder="vit_tiny", max_width=256, decoder_dim=64, decoder_depth=1, decoder_heads=2,
                      batch_size=4, workers=0, warmup=10, lr=2e-3, dropout=0.0, drop_path=0.0,
                      label_smoothing=0.0, overfit_batch=True, precision=precision)
    progress = train(cfg)
    assert progress["best_cer"] == 0.0, capsys.readouterr().out[-2000:]
    reloaded = Recognizer.load(tmp_path / "run" / "best", device="cpu")  # a GPU-trained model reads on the CPU
    assert next(reloaded.model.parameters()).device.type == "cpu"
