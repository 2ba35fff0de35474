"""bf16 autocast against float32 on the CPU: one model's training step, and its default reading with the error rate.

On CPUs with native bf16 (AVX512-BF16 or AMX) torch runs bf16 matrix products about 3x faster than float32; on
others it emulates them, many times slower. One model in one process, the two precisions taking turns run by run:
prints each side's times, the median of the paired time ratios (float32 / bf16: above 1, bf16 is faster) and the CER
of both readings of the same held-out lines. The training step is the trainer's (`training_loss` with the recipe's
CTC share, backward, an AdamW step at a tiny learning rate) under `torch.autocast("cpu", torch.bfloat16)`, which is
what `vitocr train --precision bf16` runs on a CPU.

    python benchmarks/cpu_precision.py --model handwritten --recipe training/recipes/handwritten-stage4.yaml
    python benchmarks/cpu_precision.py --model printed --recipe training/recipes/printed-paged.yaml --lines 200
"""
import argparse
import contextlib
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from conv_layout import paired  # noqa: E402
from ocr.eval_command import load_lines  # noqa: E402
from ocr.metrics import cer  # noqa: E402
from ocr.pipeline import load_recognizer  # noqa: E402
from ocr.recognizer import cpu_has_native_bf16  # noqa: E402
from ocr.tokenizer import BOS, EOS  # noqa: E402
from training.config import TrainConfig, load_recipe  # noqa: E402
from training.dataset import collate  # noqa: E402
from training.losses import training_loss  # noqa: E402
from training.setup import held_out_lines  # noqa: E402


def precision(name: str):
    return torch.autocast("cpu", dtype=torch.bfloat16) if name == "bf16" else contextlib.nullcontext()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="handwritten")
    p.add_argument("--recipe", required=True, help="the recipe whose held-out lines are read")
    p.add_argument("--lines", type=int, default=64, help="held-out lines read (default: %(default)s; 0: all)")
    p.add_argument("--rounds", type=int, default=6, help="paired training steps")
    args = p.parse_args(argv)

    lines = held_out_lines(args.recipe)
    images, texts, _, _ = load_lines(lines[:args.lines] if args.lines else lines)
    recognizer = load_recognizer(args.model, "cpu")
    model = recognizer.model
    batch, widths, tokens = collate([(recognizer.prepare(image), [BOS] + recognizer.tokenizer.encode(text) + [EOS])
                                     for image, text in zip(images[:32], texts[:32])])
    recipe = TrainConfig(**load_recipe(args.recipe))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-9)

    def train_step(name):
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with precision(name):
            loss = training_loss(model, batch, widths, tokens, recipe)
        loss.backward()
        optimizer.step()
        model.eval()

    readings = {}

    def read(name):
        with precision(name):
            readings[name] = [r.text for r in recognizer.recognize(images)]

    print(f"{args.model}, {len(images)} held-out lines of {args.recipe}, {torch.get_num_threads()} threads, "
          f"native bf16: {cpu_has_native_bf16()}\n")
    print("| measured | float32 ms | bf16 ms | median ratio |")
    print("|---|---:|---:|---:|")
    for what, run, rounds in (("training step (32 lines)", train_step, args.rounds),
                              (f"default reading ({len(images)} lines)", read, 2)):
        (slow, quick), ratio = paired(run, "float32", "bf16", rounds)
        print(f"| {what} | {min(slow) * 1e3:.0f}-{max(slow) * 1e3:.0f} | {min(quick) * 1e3:.0f}-"
              f"{max(quick) * 1e3:.0f} | {ratio:.2f}x |", flush=True)
    same = sum(a == b for a, b in zip(readings["float32"], readings["bf16"]))
    print(f"\nCER float32 {cer(texts, readings['float32']):.2%}, bf16 {cer(texts, readings['bf16']):.2%}; "
          f"{same} of {len(texts)} lines read alike")


if __name__ == "__main__":
    main()
