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
import contextlib
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from conv_layout import model_and_lines, paired  # noqa: E402
from ocr.metrics import cer  # noqa: E402
from ocr.recognizer import cpu_has_native_bf16  # noqa: E402
from training.losses import training_loss  # noqa: E402


def precision(name: str):
    return torch.autocast("cpu", dtype=torch.bfloat16) if name == "bf16" else contextlib.nullcontext()


def main(argv=None):
    args, recognizer, images, texts, (batch, widths, tokens), recipe = model_and_lines(__doc__, argv, lines=64,
                                                                                       rounds=6)
    model = recognizer.model
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
