"""Convolution weights channels-last against contiguous: one model's encoder, training step and default reading.

Two copies of the model in one process, one converted with `OCRModel.channels_last()` (what the recogniser and the
trainer do), taking turns run by run on the same held-out lines; prints each side's times and the median of the
paired time ratios (contiguous / channels-last: above 1, channels-last is faster). The training step is the
trainer's: the recipe's loss (`training_loss`: cross-entropy, plus the CTC head's share), backward and an AdamW step
at a tiny learning rate, in train mode.

    python benchmarks/conv_layout.py --model handwritten --recipe training/recipes/handwritten-stage4.yaml
    python benchmarks/conv_layout.py --model printed --recipe training/recipes/printed-paged.yaml
"""
import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from ocr.eval_command import load_lines  # noqa: E402
from ocr.pipeline import load_recognizer  # noqa: E402
from ocr.tokenizer import BOS, EOS  # noqa: E402
from training.config import TrainConfig, load_recipe  # noqa: E402
from training.dataset import collate  # noqa: E402
from training.losses import training_loss  # noqa: E402
from training.setup import held_out_lines  # noqa: E402


def paired(run, first, second, rounds: int):
    """Times of run(first) and run(second), alternating which goes first; the median ratio first / second."""
    run(first), run(second)  # warm-up
    times, ratios = ([], []), []
    for i in range(rounds):
        order = ((0, first), (1, second)) if i % 2 == 0 else ((1, second), (0, first))
        for side, model in order:
            start = time.perf_counter()
            run(model)
            times[side].append(time.perf_counter() - start)
        ratios.append(times[0][-1] / times[1][-1])
    return times, statistics.median(ratios)


def model_and_lines(doc: str, argv, lines: int, rounds: int):
    """Arguments (--model, --recipe, --lines, --rounds), the recogniser, the held-out lines (images, texts) and a
    training batch of the first 32 (images, widths, tokens) under the recipe's settings."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--model", default="handwritten")
    p.add_argument("--recipe", required=True, help="the recipe whose held-out lines are read")
    p.add_argument("--lines", type=int, default=lines, help="held-out lines read (default: %(default)s; 0: all)")
    p.add_argument("--rounds", type=int, default=rounds, help="paired runs of each training-side measurement")
    args = p.parse_args(argv)
    held_out = held_out_lines(args.recipe)
    images, texts, _, _ = load_lines(held_out[:args.lines] if args.lines else held_out)
    recognizer = load_recognizer(args.model, "cpu")  # its model is channels-last already
    batch = collate([(recognizer.prepare(image), [BOS] + recognizer.tokenizer.encode(text) + [EOS])
                     for image, text in zip(images[:32], texts[:32])])
    return args, recognizer, images, texts, batch, TrainConfig(**load_recipe(args.recipe))


def main(argv=None):
    args, recognizer, images, _, (batch, widths, tokens), recipe = model_and_lines(__doc__, argv, lines=32, rounds=8)
    fast = recognizer.model
    contiguous = copy.deepcopy(fast).to(memory_format=torch.contiguous_format)
    with torch.inference_mode():
        gap = (fast.encode(batch, widths)[0] - contiguous.encode(batch, widths)[0]).abs().max().item()
    optimizers = {id(m): torch.optim.AdamW(m.parameters(), lr=1e-9) for m in (fast, contiguous)}

    def encode(model):
        with torch.inference_mode():
            model.encode(batch, widths)

    def train_step(model):
        model.train()
        optimizers[id(model)].zero_grad(set_to_none=True)
        training_loss(model, batch, widths, tokens, recipe).backward()
        optimizers[id(model)].step()
        model.eval()

    def read(model):
        recognizer.model = model
        recognizer.recognize(images)

    print(f"{args.model}, {len(images)} held-out lines of {args.recipe}, {torch.get_num_threads()} threads; "
          f"encoder outputs differ by at most {gap:.1e}\n")
    print("| measured | contiguous ms | channels-last ms | median ratio |")
    print("|---|---:|---:|---:|")
    for name, run, rounds in (("encoder", encode, args.rounds), ("training step", train_step, args.rounds),
                              ("default reading", read, max(2, args.rounds // 2))):
        (slow, quick), ratio = paired(run, contiguous, fast, rounds)
        print(f"| {name} | {min(slow) * 1e3:.0f}-{max(slow) * 1e3:.0f} | {min(quick) * 1e3:.0f}-"
              f"{max(quick) * 1e3:.0f} | {ratio:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
