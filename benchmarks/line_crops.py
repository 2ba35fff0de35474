"""How much a model's reading depends on how tightly its lines were cropped: held-out real lines read as cut, with
paper added above and below, and trimmed.

Segmenters crop lines differently: AJMC's crops end at the ink, fondue's leave a margin. For each source the script
prints how much of the crop the text's x-height band fills (its rows holding at least half the densest row's ink;
the median line), then the model's CER on the same lines as cut and reframed as the training augmentation does it
(`training.augment.reframe`): each of `--changes` line heights of paper added, half above and half below, or when
negative, as many rows trimmed (blank ones and what reaches in from the neighbouring lines; never the line's own
ink). A model that learned one kind of crop reads the other worse; a robust one reads all alike.

    python benchmarks/line_crops.py --recipe training/recipes/printed-paged.yaml --model runs/printed-paged/best
    python benchmarks/line_crops.py --recipe ... --model printed --changes -0.2,0.2,0.4 --beams 4
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from accuracy_vs_tesseract import LINE_END, source_name  # noqa: E402
from ocr.metrics import ErrorCounts, normalize  # noqa: E402
from ocr.pipeline import load_recognizer  # noqa: E402
from training.augment import paper_colour, reframe, x_height_band  # noqa: E402
from training.dataset import load_line  # noqa: E402
from training.setup import held_out_lines  # noqa: E402


def x_height_share(image) -> float:
    """The share of a line crop's height that its x-height band fills (0 for blank paper)."""
    band = x_height_band(np.asarray(image), paper_colour(image))
    return 0.0 if band is None else (band[1] - band[0] + 1) / image.height


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", required=True, help="the recipe whose held-out lines are read")
    p.add_argument("--model", default="printed")
    p.add_argument("--changes", default="-0.2,0.2", type=lambda v: [float(x) for x in v.split(",") if x.strip()],
                   help="comma-separated line heights to add (> 0) or trim (< 0) (default: -0.2,0.2)")
    p.add_argument("--beams", type=int, default=None, help="default: the model's own (its config.json)")
    args = p.parse_args(argv)
    changes = [0.0] + args.changes
    lines = held_out_lines(args.recipe)
    images = [load_line(s).convert("L") for s in lines]
    source_of = [source_name(s) for s in lines]
    sources = sorted(set(source_of))
    recognizer = load_recognizer(args.model, "cpu")
    args.beams = args.beams or recognizer.model.config.beams
    readings = {}
    for change in changes:
        reframed = [reframe(im, paper_colour(im), change, 0.5) if change else im for im in images]
        readings[change] = [r.text for r in recognizer.recognize(reframed, beams=args.beams, batch_size=32)]
    print(f"# line crops: {len(lines)} held-out lines of {args.recipe}; model {args.model}, beams {args.beams}\n")
    print("| source | lines | x-height band / crop height (median) | "
          + " | ".join("CER as cut" if c == 0 else f"CER, {c:+g} heights" for c in changes) + " |")
    print("|---|---:|---:|" + "---:|" * len(changes))
    norm = lambda t: normalize(t, mapping=LINE_END, collapse_whitespace=True)  # noqa: E731
    for source in sources:
        keep = [i for i, s in enumerate(source_of) if s == source]
        cells = []
        for change in changes:
            counts = ErrorCounts()
            for i in keep:
                counts.add(norm(lines[i].text), norm(readings[change][i]))
            cells.append(f"{counts.cer:.2%}")
        share = np.median([x_height_share(images[i]) for i in keep])
        print(f"| {source} | {len(keep)} | {share:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
