"""Decoding throughput: vitocr's greedy and beam search vs Hugging Face `VisionEncoderDecoderModel.generate`.

What it measures: text lines per second, image encoding included, for greedy search and beam search (4 beams) at
batch sizes 1, 16 and 64, for two models of the same shape with random weights:

* ours: `OCRModel` with the `vit_tiny` encoder (height 32, patch 16x8, dim 192, 4 layers, 3 heads, MLP 768, [CLS],
  1 channel, learned 2-D positions) and a `TextDecoder` (dim 256, 4 layers, 4 heads, MLP 1024, learned positions);
* Hugging Face: `VisionEncoderDecoderModel` of a `ViTModel` (hidden 192, 4 layers, 3 heads, intermediate 768,
  image_size (32, W), patch_size (16, 8), num_channels 1, no pooler) and a `TrOCRForCausalLM` (d_model 256, 4 layers,
  4 heads, FFN 1024, learned positions, untied output layer), with its 192 -> 256 `enc_to_dec_proj` like our bridge.

Both read the same random images (B, 1, 32, W), all of the full width W (no padding mask on either side), and both
generate exactly --tokens tokens per line: [EOS] is forbidden before that many (ours: min_length=T,
max_length=T + 1 as max_length counts [BOS]; HF: min_new_tokens = max_new_tokens = T), and neither may generate
[PAD] or [BOS] (ours always; HF through `suppress_tokens`). HF uses its KV cache (use_cache=True) and
early_stopping=True for beam search. Both run in eval mode under torch.no_grad() with the same thread count.
Every configuration is warmed up once per model, then the same number of lines is timed for each, the two models
taking turns batch by batch so that a drift in machine load hits both alike. Parameter counts are printed so the
comparison can be checked to be like for like.

Run it (on a quiet machine; it takes a few minutes on CPU):

    python benchmarks/decode_speed.py                 # CPU, all cores
    python benchmarks/decode_speed.py --threads 4     # CPU, 4 threads
    python benchmarks/decode_speed.py --quick         # smoke run: a few lines (one batch) per configuration
    python benchmarks/decode_speed.py --device cuda   # GPU: ours under bf16 autocast, HF with bf16 weights

It prints a markdown table (config | ours lines/s | HF lines/s | ratio) and checks the target: beam 4 at batch 16
at least 2x HF's throughput.
"""
import argparse
import os
import platform
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from ocr.decoding import beam_search, greedy_search  # noqa: E402
from ocr.tokenizer import BOS, EOS, PAD  # noqa: E402
from same_size_models import build_hf, build_ours, parameter_report  # noqa: E402

TARGET = (16, 2.0)  # beam 4 at this batch size: minimum throughput ratio ours / HF


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    p.add_argument("--batches", default="1,16,64", help="comma-separated batch sizes (default: 1,16,64)")
    p.add_argument("--beams", type=int, default=4, help="beam width of the beam-search rows (default: 4)")
    p.add_argument("--width", type=int, default=256, help="line width in pixels, a multiple of 8 (default: 256)")
    p.add_argument("--tokens", type=int, default=40, help="tokens generated per line (default: 40)")
    p.add_argument("--vocab", type=int, default=100, help="vocabulary size (default: 100)")
    p.add_argument("--lines", type=int, default=None,
                   help="lines timed per configuration and model, rounded up to whole batches\n"
                        "(default: 32 at batch 1, 128 at batch 16, 256 at batch 64; --quick: 4, i.e. one batch\n"
                        "at batch >= 4)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 4 lines (at least one batch) timed per configuration")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.batches = [int(b) for b in args.batches.split(",") if b.strip()]
    if args.width % 8:
        p.error("--width must be a multiple of the patch width 8")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is available")
    return args


def make_runners(args, ours, hf, amp):
    T = args.tokens

    def run_ours(images, widths, beams):
        with torch.no_grad(), amp():
            if beams == 1:
                return greedy_search(ours, images, widths, max_length=T + 1, min_length=T)
            return beam_search(ours, images, widths, beams=beams, max_length=T + 1, min_length=T)

    def run_hf(images, widths, beams):
        with torch.no_grad():
            return hf.generate(pixel_values=images.to(args.hf_dtype), max_new_tokens=T, min_new_tokens=T,
                               num_beams=beams, early_stopping=beams > 1, do_sample=False, use_cache=True,
                               suppress_tokens=[PAD, BOS], decoder_start_token_id=BOS, pad_token_id=PAD,
                               eos_token_id=EOS, bos_token_id=BOS)

    return run_ours, run_hf


def check_lengths(name, out, B, T):
    """Both models must have generated exactly T tokens per line, or the comparison would be meaningless."""
    if name == "ours":
        lengths = sorted({len(h.ids) for h in out})
        ok = len(out) == B and lengths == [T]
    else:  # HF: (B, 1 + T) with the decoder start token in front
        lengths = [out.shape[1] - 1]
        ok = out.shape[0] == B and lengths == [T]
    if not ok:
        raise RuntimeError(f"{name}: expected {B} lines of {T} tokens, got lengths {lengths}")


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    max_positions = max(160, args.tokens + 1)

    ours = build_ours(args.width, args.vocab, max_positions).to(device)
    hf = build_hf(args.width, args.vocab, max_positions).to(device)
    if args.device == "cuda":  # ours: float32 weights under bf16 autocast; HF: bf16 weights
        args.hf_dtype = torch.bfloat16
        hf = hf.to(torch.bfloat16)
        amp = lambda: torch.autocast("cuda", dtype=torch.bfloat16)  # noqa: E731
    else:
        args.hf_dtype = torch.float32
        amp = nullcontext
    run_ours, run_hf = make_runners(args, ours, hf, amp)

    import transformers
    print("# decode speed: vitocr vs Hugging Face VisionEncoderDecoderModel.generate\n")
    where = torch.cuda.get_device_name() if args.device == "cuda" else (platform.processor() or platform.machine())
    print(f"device {args.device} ({where}), threads {torch.get_num_threads()}, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, python {platform.python_version()}")
    print(f"lines 32x{args.width} px, {args.tokens} tokens generated per line, vocabulary {args.vocab}, "
          f"HF attention: encoder {hf.encoder.config._attn_implementation}, "
          f"decoder {hf.decoder.config._attn_implementation}\n")
    print(parameter_report(ours, hf) + "\n")

    searches = [("greedy", 1), (f"beam {args.beams}", args.beams)]
    results = []
    for search, beams in searches:
        for B in args.batches:
            g = torch.Generator().manual_seed(args.seed + B)
            images = torch.rand(B, 1, 32, args.width, generator=g).to(device)
            widths = torch.full((B,), args.width, dtype=torch.long, device=device)
            lines = args.lines or (4 if args.quick else {1: 32, 16: 128}.get(B, 256))
            repeats = max(1, -(-lines // B))
            # warm-up, which also checks that both generate exactly the forced length
            check_lengths("ours", run_ours(images, widths, beams), B, args.tokens)
            check_lengths("HF", run_hf(images, widths, beams), B, args.tokens)
            sync(args.device)
            spent = {"ours": 0.0, "HF": 0.0}
            for _ in range(repeats):  # take turns, so load drift on a shared machine hits both
                for name, fn in (("ours", run_ours), ("HF", run_hf)):
                    start = time.perf_counter()
                    fn(images, widths, beams)
                    sync(args.device)
                    spent[name] += time.perf_counter() - start
            n = repeats * B
            ours_lps, hf_lps = n / spent["ours"], n / spent["HF"]
            results.append((search, B, n, ours_lps, hf_lps))
            print(f"  {search} @ batch {B}: {n} lines, ours {spent['ours']:.2f} s, HF {spent['HF']:.2f} s",
                  file=sys.stderr, flush=True)

    print("| config | lines timed | ours lines/s | HF lines/s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for search, B, n, a, b in results:
        print(f"| {search} @ batch {B} | {n} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")

    B, minimum = TARGET
    hit = [a / b for s, bb, _, a, b in results if s == "beam 4" and bb == B]
    print()
    if hit:
        verdict = "PASS" if hit[0] >= minimum else "FAIL"
        print(f"target: beam 4 at batch {B} ratio >= {minimum:.0f}x: {hit[0]:.2f}x -> {verdict}")
    else:
        print(f"target: beam 4 at batch {B} ratio >= {minimum:.0f}x: not measured in this run")
    if args.quick:
        print("(--quick: a few lines per configuration; indicative numbers only)")


if __name__ == "__main__":
    main()
