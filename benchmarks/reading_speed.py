"""What more beams and more views cost: one model reading the same held-out lines at several (beams, views)
settings, all in one process, taking turns round by round so that a drift in machine load hits every setting alike.

Prints, per setting, lines/s, the time relative to the first setting, and the CER of the lines read (whitespace
collapsed). The first setting is the reference; the CER of a few lines is a check that each setting reads, not a
measurement: `vitocr eval` on all the held-out lines is.

    python benchmarks/reading_speed.py --model handwritten --recipe training/recipes/handwritten-stage4.yaml
    python benchmarks/reading_speed.py --model printed --recipe training/recipes/printed-paged.yaml --settings 2x1,2x2
"""
import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from ocr.eval_command import load_lines  # noqa: E402
from ocr.metrics import ErrorCounts, normalize  # noqa: E402
from ocr.pipeline import load_recognizer  # noqa: E402
from training.setup import held_out_lines  # noqa: E402


def settings(text: str):
    """Beams x views, comma-separated: "4x1,8x2" -> [(4, 1), (8, 2)]."""
    return [tuple(int(n) for n in s.split("x")) for s in text.split(",") if s.strip()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="handwritten")
    p.add_argument("--recipe", required=True, help="the recipe whose held-out lines are read")
    p.add_argument("--settings", type=settings, default=settings("4x1,8x1,4x2,4x3,8x2,8x3"),
                   help="beams x views, comma-separated; the first is the reference (default: %(default)s)")
    p.add_argument("--lines", type=int, default=160, help="held-out lines read per setting and round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    images, texts, _, _ = load_lines(held_out_lines(args.recipe), args.lines)
    readers = {views: load_recognizer(args.model, "cpu", views=views) for views in {v for _, v in args.settings}}
    readers[args.settings[0][1]].recognize(images[:16], beams=args.settings[0][0])  # warm-up
    spent, counts = {s: 0.0 for s in args.settings}, {}
    for _ in range(args.rounds):
        for beams, views in args.settings:
            start = time.perf_counter()
            results = readers[views].recognize(images, beams=beams)
            spent[(beams, views)] += time.perf_counter() - start
            counts[(beams, views)] = ErrorCounts()
            for result, text in zip(results, texts):
                counts[(beams, views)].add(normalize(text, collapse_whitespace=True),
                                           normalize(result.text, collapse_whitespace=True))
    reference = spent[args.settings[0]]
    print(f"# {args.model}: {len(images)} held-out lines of {args.recipe}, {args.rounds} rounds, "
          f"{torch.get_num_threads()} threads\n")
    print("| beams | views | lines/s | time | CER of these lines |")
    print("|---:|---:|---:|---:|---:|")
    for s in args.settings:
        print(f"| {s[0]} | {s[1]} | {args.rounds * len(images) / spent[s]:.1f} | {spent[s] / reference:.2f}x | "
              f"{100 * counts[s].cer:.2f} % |")


if __name__ == "__main__":
    main()
