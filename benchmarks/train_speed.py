"""Training throughput: vitocr's OCRModel vs Hugging Face VisionEncoderDecoderModel of the same sizes.

One training step = forward with teacher forcing, cross-entropy, backward, AdamW step, on a batch of lines of the
same width with targets of the same length, for both models (see same_size_models.py), taking turns step by step
so a change in machine load hits both alike. Dropout 0.1 in both decoders.

    python benchmarks/train_speed.py            # batch 32, lines 32x512 px, 40-token targets
    python benchmarks/train_speed.py --quick
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

from same_size_models import build_hf, build_ours, parameter_report

from ocr.tokenizer import BOS, PAD  # noqa: E402  (same_size_models puts the checkout on the path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--tokens", type=int, default=40)
    p.add_argument("--vocab", type=int, default=100)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--quick", action="store_true", help="3 timed steps")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    steps = 3 if args.quick else args.steps
    # dropout 0.1 in both decoders (residual branches; none on attention weights, TrOCR's default)
    ours, hf = build_ours(args.width, args.vocab, 160, 0.1).train(), build_hf(args.width, args.vocab, 160, 0.1).train()
    images = torch.rand(args.batch, 1, 32, args.width)
    widths = torch.full((args.batch,), args.width)
    tokens = torch.randint(4, args.vocab, (args.batch, args.tokens + 1))
    tokens[:, 0] = BOS

    def step_ours(opt):
        logits = ours(images, widths, tokens[:, :-1])
        loss = F.cross_entropy(logits.transpose(1, 2), tokens[:, 1:], ignore_index=PAD)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def step_hf(opt):
        logits = hf(pixel_values=images, decoder_input_ids=tokens[:, :-1]).logits
        loss = F.cross_entropy(logits.transpose(1, 2), tokens[:, 1:], ignore_index=PAD)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    runs = {"ours": (step_ours, torch.optim.AdamW(ours.parameters(), 1e-4)),
            "HF": (step_hf, torch.optim.AdamW(hf.parameters(), 1e-4))}
    for fn, opt in runs.values():  # warm-up
        fn(opt)
    spent = {name: 0.0 for name in runs}
    for _ in range(steps):
        for name, (fn, opt) in runs.items():
            start = time.perf_counter()
            fn(opt)
            spent[name] += time.perf_counter() - start
    lines = steps * args.batch
    print(f"# training speed, batch {args.batch}, lines 32x{args.width} px, {args.tokens}-token targets, "
          f"{torch.get_num_threads()} threads\n")
    print(parameter_report(ours, hf) + "\n")
    print("| model | lines/s |\n|---|---:|")
    for name in runs:
        print(f"| {name} | {lines / spent[name]:.1f} |")
    print(f"\nratio ours / HF: {spent['HF'] / spent['ours']:.2f}x (target: at least 1.00x)")


if __name__ == "__main__":
    sys.exit(main())
