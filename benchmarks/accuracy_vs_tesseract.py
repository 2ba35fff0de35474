"""Line accuracy against Tesseract on held-out real lines, clean and degraded, in one run.

The held-out lines are those a recipe's run never trained on: the recipe's sources are read and split by page
group exactly as `vitocr train` does (same seed and fraction). Each line is read by the model (greedy or beams) and by
Debian's tesseract (`--psm 7`, one line), then degraded copies of the same lines (blur, noise, low resolution) are
read by both. CER is corpus-level, NFC, with the ground truth's line-end '¬' read as '-' on both sides.
`--typewriter N` adds N synthetic lines in typewriter fonts from a seed no recipe draws, rendered clean and with the
generator's scan degradations (ink, blur, noise, skew: what the printed model trained on, so read that row with care).

    python benchmarks/accuracy_vs_tesseract.py --recipe training/recipes/printed.yaml --model printed
    python benchmarks/accuracy_vs_tesseract.py --recipe ... --model runs/printed/best --limit 200 --beams 4
    python benchmarks/accuracy_vs_tesseract.py --recipe training/recipes/printed.yaml --degradations '' --typewriter 150
    python benchmarks/accuracy_vs_tesseract.py --recipe ... --mapping typographic   # also with quotes/dashes folded
"""
import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from ocr.metrics import ErrorCounts, load_mapping, normalize  # noqa: E402
from ocr.pipeline import load_recognizer  # noqa: E402
from ocr.tesseract import tesseract_available, tesseract_line  # noqa: E402
from training.dataset import load_line  # noqa: E402
from training.setup import held_out_lines  # noqa: E402


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


def read_both(recognizer, images, beams):
    start = time.perf_counter()
    ours = [r.text for r in recognizer.recognize(images, beams=beams, batch_size=32)]
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = [tesseract_line(im) for im in images]
    return ours, ours_s, theirs, time.perf_counter() - start


LINE_END = {"¬": "-"}


def source_name(sample) -> str:
    """The data set a line comes from: the folder above its image's folder (data/SET/lines/x.png)."""
    parts = Path(sample.image).parts
    return parts[-3] if len(parts) > 2 else ""


def row(source, kind, refs, ours, theirs, mapping=None, timing=" | "):
    """One table row: CER of both engines, then again under `mapping` when one is given."""
    cells = []
    for rules in [LINE_END] + ([{**LINE_END, **mapping}] if mapping else []):
        norm = lambda t: normalize(t, mapping=rules, collapse_whitespace=True)  # noqa: E731
        a, b = ErrorCounts(), ErrorCounts()
        for ref, o, t in zip(refs, ours, theirs):
            a.add(norm(ref), norm(o))
            b.add(norm(ref), norm(t))
        cells += [f"{a.cer:.2%}", f"{b.cer:.2%}"]
    print(f"| {source} | {kind} | {a.lines} | {' | '.join(cells)} | {timing} |", flush=True)


def typewriter_lines(count: int, scan_like: bool):
    """Typewriter-font lines the recipes never drew: the synthetic generator with a seed of its own."""
    from training.synthetic import SyntheticLines

    lines = SyntheticLines(count, styles=("typewriter",), seed=TYPEWRITER_SEED, degrade=scan_like, max_chars=60)
    return [lines[i] for i in range(count)]


TYPEWRITER_SEED = 2_000_029  # training draws seed 0 (lines) and 1_000_003 (validation)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", required=True)
    p.add_argument("--model", default="printed")
    p.add_argument("--beams", type=int, default=None, help="default: the model's own (its config.json)")
    p.add_argument("--limit", type=int, default=0, help="at most N lines (a seeded sample)")
    p.add_argument("--degradations", default="clean,blur,noise,low-res")
    p.add_argument("--typewriter", type=int, default=0,
                   help="also N synthetic typewriter-font lines, rendered clean and scan-like (needs the fonts)")
    p.add_argument("--mapping", help="also score under this mapping (a bundled name, e.g. typographic, or a file)")
    args = p.parse_args(argv)
    mapping = load_mapping(args.mapping) if args.mapping else None
    if not tesseract_available():
        sys.exit("tesseract is not installed (Debian: apt install tesseract-ocr)")
    lines = held_out_lines(args.recipe)
    rng = random.Random(0)
    if args.limit and len(lines) > args.limit:
        lines = rng.sample(lines, args.limit)
    source_of = [source_name(s) for s in lines]
    sources = sorted(set(source_of))
    images = [load_line(s) for s in lines]
    recognizer = load_recognizer(args.model, "cpu")
    args.beams = args.beams or recognizer.model.config.beams
    print(f"# accuracy vs tesseract: {len(lines)} held-out lines from {', '.join(sources)}; model {args.model}, "
          f"beams {args.beams}\n")
    mapped = f" vitocr CER, {args.mapping} | tesseract CER, {args.mapping} |" if mapping else ""
    print(f"| source | lines | n | vitocr CER | tesseract CER |{mapped} vitocr s | tesseract s |\n"
          f"|---|---|---:|---:|---:|{'---:|---:|' if mapping else ''}---:|---:|")
    for kind in [k for k in args.degradations.split(",") if k]:
        batch = [degrade(im, kind, random.Random(i)) for i, im in enumerate(images)]
        ours, ours_s, theirs, theirs_s = read_both(recognizer, batch, args.beams)
        for source in sources:
            keep = [i for i, src in enumerate(source_of) if src == source]
            row(source, kind, [lines[i].text for i in keep], [ours[i] for i in keep], [theirs[i] for i in keep], mapping)
        row("all", kind, [s.text for s in lines], ours, theirs, mapping, f"{ours_s:.1f} | {theirs_s:.1f}")
    typewriter = [("typewriter fonts", False), ("typewriter fonts, scan-like", True)] if args.typewriter else []
    for kind, scan_like in typewriter:
        pairs = typewriter_lines(args.typewriter, scan_like)
        ours, ours_s, theirs, theirs_s = read_both(recognizer, [im for im, _ in pairs], args.beams)
        row("synthetic", kind, [t for _, t in pairs], ours, theirs, mapping, f"{ours_s:.1f} | {theirs_s:.1f}")


if __name__ == "__main__":
    main()
