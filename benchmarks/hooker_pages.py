"""Hooker's held-out letter pages, rebuilt from their line crops, for the page benchmarks.

hooker-hw-train ships line crops, not page scans. Each crop of a page is scaled back to its box in the page
(`bbox_in_page_xyxy`) and pasted there, in the ground truth's line order, on paper of the crops' own border shade.
Such a page has the writing, the stamps, the ink seen through from the back and the bits of neighbouring lines
that the crops show, and nothing else (no margins, edges or blots; the crops' edges can show as faint steps of
shade): it measures how lines of handwriting are found and ordered, not how a raw scan is cleaned.

Written as fondue's `pages/` folder is (`<page>.png` and `<page>.lines.json`: image, text, lines with
`bbox_xyxy`, `text` and `image`, the line crop), so `line_detection.py` reads it as a data set:

    python benchmarks/hooker_pages.py --recipe training/recipes/handwritten-stage4.yaml -o /tmp/hooker
    python benchmarks/line_detection.py --data /tmp --dataset hooker

`page_pipeline.py --recipe <a recipe that trains on Hooker>` rebuilds them itself.
"""
import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from ocr.layout_xml import read_layout_xml  # noqa: E402
from training.config import TrainConfig, load_recipe  # noqa: E402
from training.setup import held_out_lines  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HOOKER = DATA / "hooker-hw-train"


def trains_on_hooker(recipe) -> bool:
    return any(Path(t).resolve().parent == HOOKER.resolve() for t in TrainConfig(**load_recipe(recipe)).train)


def rebuild_pages(recipe, out: Path):
    """Write the pages of the recipe's held-out folio groups under `out`; returns their .lines.json paths."""
    groups = {s.group for s in held_out_lines(recipe)}
    by_page = defaultdict(list)
    for row in (HOOKER / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        line = json.loads(row)
        if line["folio_group"] in groups:
            by_page[line["page_id"]].append(line)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for page_id, lines in sorted(by_page.items()):
        crops = []
        for line in lines:
            x0, y0, x1, y1 = line["bbox_in_page_xyxy"]
            crop = Image.open(HOOKER / line["image"]).convert("L").resize((x1 - x0, y1 - y0), Image.BICUBIC)
            crops.append((crop, (x0, y0)))
        paper = int(np.median(np.concatenate([np.asarray(c)[[0, -1]].ravel() for c, _ in crops])))
        layout = read_layout_xml(HOOKER / "page-xml" / f"{page_id}.xml")
        page = Image.new("L", (layout.width, layout.height), paper)
        for crop, corner in crops:
            page.paste(crop, corner)
        page.save(out / f"{page_id}.png")
        truth = {"image": f"{page_id}.png", "width": page.width, "height": page.height,
                 "text": "\n".join(line["text"] for line in lines),
                 "lines": [{"text": line["text"], "bbox_xyxy": line["bbox_in_page_xyxy"],
                            "image": str((HOOKER / line["image"]).resolve())} for line in lines]}
        path = out / f"{page_id}.lines.json"
        path.write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
        written.append(path)
    return written


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", default="training/recipes/handwritten-stage4.yaml")
    p.add_argument("-o", "--output", type=Path, required=True, help="data set folder: pages go to OUTPUT/pages/")
    args = p.parse_args(argv)
    if not trains_on_hooker(args.recipe):
        sys.exit(f"{args.recipe} does not train on {HOOKER.name}: nothing of it is held out")
    written = rebuild_pages(args.recipe, args.output / "pages")
    print(f"{len(written)} pages, {sum(len(json.loads(p.read_text())['lines']) for p in written)} lines in "
          f"{args.output / 'pages'}")


if __name__ == "__main__":
    main()
