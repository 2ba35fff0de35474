"""The bundled sample document: a printed page rendered from public-domain text, degraded like a scan.

    python -m training.sample_page      # rewrites ocr/samples/sample-page.{png,gt.txt,lines.json}

The text is the opening of Charles Darwin's "On the Origin of Species" (1859, public domain). The line boxes are kept
so tests can check line detection against them.
"""
import json
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ocr.atomic import write_atomic
from training import fonts
from training.synthetic import _on_paper

TITLE = "INTRODUCTION."
TEXT = [
    "When on board H.M.S. 'Beagle,' as naturalist, I was much struck with certain facts in the distribution of the "
    "inhabitants of South America, and in the geological relations of the present to the past inhabitants of that "
    "continent. These facts seemed to me to throw some light on the origin of species, that mystery of mysteries, as "
    "it has been called by one of our greatest philosophers.",
    "On my return home, it occurred to me, in 1837, that something might perhaps be made out on this question by "
    "patiently accumulating and reflecting on all sorts of facts which could possibly have any bearing on it. After "
    "five years' work I allowed myself to speculate on the subject, and drew up some short notes; these I enlarged "
    "in 1844 into a sketch of the conclusions, which then seemed to me probable.",
]
OUT = Path(__file__).resolve().parents[1] / "ocr" / "samples"
SERIF = ("LiberationSerif-Regular.ttf", "DejaVuSerif.ttf")


def wrap(text, font, width):
    lines, current = [], ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if font.getlength(trial) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    return lines + [current] if current else lines


def render_page(seed: int = 7, width: int = 1240, height: int = 1000, margin: int = 110, size: int = 30):
    path = next((p for p in fonts.find_fonts("print") if p.name in SERIF), None)
    if path is None:
        raise SystemExit("no serif font found: run training/install-fonts.sh")
    font, bold = fonts.load_font(str(path), size), fonts.load_font(str(path), size + 6)
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    lines, y = [], margin
    entries = [(TITLE, bold, True)] + [(line, font, False) for p in TEXT for line in wrap(p, font, width - 2 * margin)]
    paragraph_ends = {len(wrap(TEXT[0], font, width - 2 * margin))}
    for i, (text, f, centred) in enumerate(entries):
        x = (width - f.getlength(text)) / 2 if centred else margin
        draw.text((x, y), text, fill=255, font=f)
        box = draw.textbbox((x, y), text, font=f)
        lines.append({"text": text, "bbox_xyxy": [int(box[0]), int(box[1]), int(box[2]) + 1, int(box[3]) + 1]})
        y += int(size * (2.2 if centred else 1.45)) + (int(size * 0.6) if i in paragraph_ends else 0)
    rng = random.Random(seed)
    page = _on_paper(mask, rng, np.random.default_rng(seed))
    page = page.rotate(0.6, resample=Image.Resampling.BICUBIC, fillcolor=235)  # a slightly skewed scan
    return page, lines


def main():
    page, lines = render_page()
    OUT.mkdir(parents=True, exist_ok=True)
    buffer_path = OUT / "sample-page.png"
    page.save(buffer_path.with_suffix(".tmp.png"), optimize=True)
    buffer_path.with_suffix(".tmp.png").replace(buffer_path)
    write_atomic(OUT / "sample-page.gt.txt", "\n".join(l["text"] for l in lines) + "\n")
    write_atomic(OUT / "sample-page.lines.json", json.dumps({"rotation_degrees": 0.6, "lines": lines}, indent=1) + "\n")
    print(f"wrote {buffer_path} ({page.width}x{page.height}) with {len(lines)} lines")


if __name__ == "__main__":
    main()
