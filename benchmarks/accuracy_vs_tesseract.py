"""Line accuracy against Tesseract on held-out real lines, clean and degraded, in one run.

The held-out lines are those a recipe's run never trained on: the recipe's sources are read and split by page
group exactly as `vitocr train` does (same seed and fraction). Each line is read by the model (greedy or beams) and by
Debian's tesseract (`--psm 7`, one line), then degraded copies of the same lines (blur, noise, low resolution) are
read by both. CER is corpus-level, NFC, with the ground truth's line-end '¬' read as '-' on both sides.

    python benchmarks/accuracy_vs_tesseract.py --recipe training/recipes/printed.yaml --model printed
    python benchmarks/accuracy_vs_tesseract.py --recipe ... --model runs/printed/best --limit 200 --beams 4
"""
import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from ocr.metrics import ErrorCounts, normalize  # noqa: E402
from ocr.pipeline import load_recognizer  # noqa: E402
from ocr.tesseract import tesseract_available, tesseract_line  # noqa: E402
from training.config import load_recipe  # noqa: E402
from training.dataset import load_line  # noqa: E402
from training.readers import parse_where, read_sources  # noqa: E402
from training.setup import split_by_group  # noqa: E402


def degrade(image: Image.Image, kind: str, rng: random.Random) -> Image.Image:
    if kind == "blur":
        return image.filter(ImageFilter.GaussianBlur(1.5 * image.height / 48))
    if kind == "noise":
        pixels = np.asarray(image, np.float32) + np.random.default_rng(rng.getrandbits(32)).normal(0, 40, image.size[::-1])
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if kind == "low-res":  # a line about 12 px tall, scaled back up: a 100 dpi scan of small print
        small = image.resize((max(1, image.width * 12 // image.height), 12), Image.Resampling.BILINEAR)
        return small.resize(image.size, Image.Resampling.BILINEAR)
    return image


def held_out(recipe: dict):
    samples = read_sources([str(p) for p in recipe["train"]], parse_where(recipe.get("where"))).samples
    _, val = split_by_group(samples, recipe.get("val_fraction", 0.05), recipe.get("seed", 0))
    return val


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", required=True)
    p.add_argument("--model", default="printed")
    p.add_argument("--beams", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="at most N lines (a seeded sample)")
    p.add_argument("--degradations", default="clean,blur,noise,low-res")
    args = p.parse_args(argv)
    if not tesseract_available():
        sys.exit("tesseract is not installed (Debian: apt install tesseract-ocr)")
    lines = held_out(load_recipe(args.recipe))
    rng = random.Random(0)
    if args.limit and len(lines) > args.limit:
        lines = rng.sample(lines, args.limit)
    source_of = [Path(s.image).parts[-3] if len(Path(s.image).parts) > 2 else "" for s in lines]
    sources = sorted(set(source_of))
    images = [load_line(s) for s in lines]
    recognizer = load_recognizer(args.model, "cpu")
    norm = lambda t: normalize(t, mapping={"¬": "-"}, collapse_whitespace=True)  # noqa: E731
    print(f"# accuracy vs tesseract: {len(lines)} held-out lines from {', '.join(sources)}; model {args.model}, "
          f"beams {args.beams}\n")
    print("| source | lines | n | vitocr CER | tesseract CER | vitocr s | tesseract s |\n|---|---|---:|---:|---:|---:|---:|")
    for kind in args.degradations.split(","):
        batch = [degrade(im, kind, random.Random(i)) for i, im in enumerate(images)]
        start = time.perf_counter()
        ours = [r.text for r in recognizer.recognize(batch, beams=args.beams, batch_size=32)]
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        theirs = [tesseract_line(im) for im in batch]
        theirs_s = time.perf_counter() - start
        for source in sources + ["all"]:
            a, b = ErrorCounts(), ErrorCounts()
            for src, s, o, t in zip(source_of, lines, ours, theirs):
                if source in (src, "all"):
                    a.add(norm(s.text), norm(o))
                    b.add(norm(s.text), norm(t))
            timing = f"{ours_s:.1f} | {theirs_s:.1f}" if source == "all" else " | "
            print(f"| {source} | {kind} | {a.lines} | {a.cer:.2%} | {b.cer:.2%} | {timing} |", flush=True)


if __name__ == "__main__":
    main()
