"""Line detection quality of `ocr.layout.segment_page` against ground-truth line boxes.

What it measures: for every page of a data set's `pages/` folder (`<page>.lines.json` with `bbox_xyxy` per line,
the page image beside it), the detected line boxes are matched one-to-one to the ground-truth boxes, greedily by
decreasing IoU, counting a match when IoU >= --iou (0.5). Precision = matches / detected lines, recall =
matches / true lines, F1 their harmonic mean; one row per page and the total over all lines. Pages whose ground
truth has no lines (not annotated) are skipped and listed.

    python benchmarks/line_detection.py                        # fondue-en-print-20, Sauvola, deskew
    python benchmarks/line_detection.py --binarization otsu --no-deskew
    python benchmarks/line_detection.py --rotate 2.5           # pages turned 2.5 degrees (and their true boxes)
    python benchmarks/line_detection.py --overlays overlays/   # also draw found (red) and true (green) boxes

The data folder is $VITOCR_DATA, or ../shared/data beside the repository (as for the tests).
"""
import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from ocr.images import load_image  # noqa: E402
from ocr.layout import segment_page  # noqa: E402

DATA = Path(os.environ.get("VITOCR_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def iou_matrix(found: np.ndarray, true: np.ndarray) -> np.ndarray:
    """IoU of every found box (rows) with every true box (columns); boxes are x0, y0, x1, y1."""
    if len(found) == 0 or len(true) == 0:
        return np.zeros((len(found), len(true)))
    f, t = found[:, None, :], true[None, :, :]
    w = np.clip(np.minimum(f[..., 2], t[..., 2]) - np.maximum(f[..., 0], t[..., 0]), 0, None)
    h = np.clip(np.minimum(f[..., 3], t[..., 3]) - np.maximum(f[..., 1], t[..., 1]), 0, None)
    inter = w * h
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(f) + area(t) - inter)


def count_matches(found, true, threshold: float) -> int:
    """One-to-one matches at IoU >= threshold, taking the best-overlapping pairs first."""
    iou = iou_matrix(np.asarray(found, float).reshape(-1, 4), np.asarray(true, float).reshape(-1, 4))
    matches = 0
    while iou.size and iou.max() >= threshold:
        i, j = np.unravel_index(iou.argmax(), iou.shape)
        iou[i, :], iou[:, j] = -1, -1
        matches += 1
    return matches


def scores(matches: int, found: int, true: int):
    precision = matches / found if found else 0.0
    recall = matches / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def rotate_page(image, boxes, degrees: float):
    """The page turned counter-clockwise (as PIL's rotate, canvas enlarged) and the boxes around the turned boxes."""
    fill = int(np.median(np.asarray(image)))  # the paper
    turned = image.rotate(degrees, resample=Image.BICUBIC, expand=True, fillcolor=fill)
    a = math.radians(degrees)
    out = []
    for x0, y0, x1, y1 in boxes:
        corners = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], float) - (image.width / 2, image.height / 2)
        xs = turned.width / 2 + corners[:, 0] * math.cos(a) + corners[:, 1] * math.sin(a)
        ys = turned.height / 2 - corners[:, 0] * math.sin(a) + corners[:, 1] * math.cos(a)
        out.append([xs.min(), ys.min(), xs.max(), ys.max()])
    return turned, out


def draw_overlay(image, found, true, path: Path):
    canvas = image.convert("RGB")
    draw = ImageDraw.Draw(canvas)
    width = max(2, image.width // 800)
    for box in true:
        draw.rectangle(box, outline=(0, 170, 0), width=width)
    for box in found:
        draw.rectangle(box, outline=(230, 0, 0), width=width)
    canvas.save(path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA, help=f"data folder (default: $VITOCR_DATA or {DATA})")
    p.add_argument("--dataset", default="fondue-en-print-20", help="folder under --data with a pages/ folder")
    p.add_argument("--binarization", default="sauvola", choices=["sauvola", "otsu"])
    p.add_argument("--no-deskew", action="store_true")
    p.add_argument("--iou", type=float, default=0.5, help="IoU for a detected line to count (default 0.5)")
    p.add_argument("--rotate", type=float, default=0.0, help="turn each page by this many degrees first")
    p.add_argument("--pages", default="*", help="glob of page names to run (default: all)")
    p.add_argument("--overlays", type=Path, help="folder for PNGs with found (red) and true (green) boxes")
    args = p.parse_args(argv)

    pages = sorted((args.data / args.dataset / "pages").glob(f"{args.pages}.lines.json"))
    if not pages:
        sys.exit(f"no {args.pages}.lines.json under {args.data / args.dataset / 'pages'} (set VITOCR_DATA or --data)")
    if args.overlays:
        args.overlays.mkdir(parents=True, exist_ok=True)
    rows, skipped, totals = [], [], np.zeros(3, int)
    start = time.perf_counter()
    for path in pages:
        truth = json.loads(path.read_text(encoding="utf-8"))
        name = path.name[: -len(".lines.json")]
        true = [line["bbox_xyxy"] for line in truth["lines"]]
        if not true:
            skipped.append(name)
            continue
        image = load_image(path.parent / truth["image"])
        if args.rotate:
            image, true = rotate_page(image, true, args.rotate)
        page = segment_page(image, binarization=args.binarization, deskew=not args.no_deskew)
        found = [line.box for line in page.lines]
        counts = np.array([count_matches(found, true, args.iou), len(found), len(true)])
        totals += counts
        rows.append((name, counts, page.angle))
        if args.overlays:
            draw_overlay(image, found, true, args.overlays / f"{name}.png")

    print(f"`{shlex.join(['python', 'benchmarks/line_detection.py', *(argv if argv is not None else sys.argv[1:])])}`")
    print()
    print("| page | true | found | matched | precision | recall | F1 | skew (deg) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (matched, found, true), angle in rows:
        precision, recall, f1 = scores(matched, found, true)
        print(f"| {name} | {true} | {found} | {matched} | {precision:.3f} | {recall:.3f} | {f1:.3f} | {angle:+.2f} |")
    matched, found, true = totals
    precision, recall, f1 = scores(matched, found, true)
    print(f"| **total ({len(rows)} pages)** | {true} | {found} | {matched} | **{precision:.3f}** | **{recall:.3f}** | "
          f"**{f1:.3f}** | |")
    print()
    print(f"IoU >= {args.iou}, {args.binarization}, deskew {'off' if args.no_deskew else 'on'}, "
          f"pages turned {args.rotate:g} degrees; "
          f"{time.perf_counter() - start:.0f} s. Skipped (no ground-truth lines): {', '.join(skipped) or 'none'}")


if __name__ == "__main__":
    main()
