"""Whole pages: segmentation + recognition against recognition of the true lines, and against Tesseract.

For each page: page-level CER of `ocr.transcribe` (our lines, our reading order) and of `tesseract --psm 3`, and,
where the ground truth has line images (fondue, Hooker), the line-level CER of the same model on the true line crops:
the gap between the two is what segmentation and reading order cost. Texts are compared with all whitespace
collapsed to single spaces and '¬' read as '-'. Pages/s for both engines, measured in the same run.

    python benchmarks/page_pipeline.py --model printed --recipe training/recipes/printed.yaml
    python benchmarks/page_pipeline.py --model handwritten --recipe training/recipes/handwritten-stage4.yaml

Printed recipes: the fondue pages of the recipe's held-out page groups (never trained on) and every
tesseract-testpage. Recipes that train on Hooker's letters: the pages of their held-out folio groups, rebuilt from
the line crops (`hooker_pages.py` says how, and what such a page leaves out).
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from ocr.metrics import ErrorCounts, normalize  # noqa: E402
from ocr.pipeline import load_recognizer, read_file  # noqa: E402
from training.dataset import load_line  # noqa: E402
from training.readers import LineSample, read_source  # noqa: E402
from training.setup import held_out_lines  # noqa: E402
from hooker_pages import rebuild_pages, trains_on_hooker  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def norm(text: str) -> str:
    return normalize(text, mapping={"¬": "-"}, collapse_whitespace=True)


def tesseract_page(path: Path) -> str:
    return subprocess.run(["tesseract", str(path), "stdout", "--psm", "3"], capture_output=True,
                          text=True).stdout


def pages(recipe, workdir: Path):
    """(name, image path, true text, true line samples or []): Hooker's pages for a recipe that trains on them,
    else fondue's and tesseract-testpages'."""
    if trains_on_hooker(recipe):
        for page_json in rebuild_pages(recipe, workdir):
            truth = json.loads(page_json.read_text(encoding="utf-8"))
            yield (page_json.name[: -len(".lines.json")], page_json.with_name(truth["image"]), truth["text"],
                   [LineSample(line["image"], line["text"]) for line in truth["lines"]])
        return
    held = {s.group for s in held_out_lines(recipe)}
    fondue = DATA / "fondue-en-print-20"
    lines = read_source(fondue / "manifest.jsonl").samples
    for page_json in sorted((fondue / "pages").glob("*.lines.json")):
        page_id = page_json.name[: -len(".lines.json")]
        if page_id in held:
            truth = json.loads(page_json.read_text())
            if truth["lines"]:
                yield page_id, page_json.with_name(truth["image"]), truth["text"], [s for s in lines if s.group == page_id]
    for gt in sorted((DATA / "tesseract-testpages").glob("*.gt.txt")):
        yield gt.name[: -len(".gt.txt")], gt.with_name(gt.name.replace(".gt.txt", ".tif")), gt.read_text(), []


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="printed")
    p.add_argument("--recipe", default="training/recipes/printed.yaml")
    p.add_argument("--beams", type=int, default=None, help="default: the model's own (its config.json)")
    args = p.parse_args(argv)
    recognizer = load_recognizer(args.model, "cpu")
    args.beams = args.beams or recognizer.model.config.beams
    print(f"# page pipeline: model {args.model}, beams {args.beams}\n")
    print("| page | lines | page CER (ours) | line CER (ours, true lines) | page CER (tesseract) | ours s | tesseract s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    totals = {k: ErrorCounts() for k in ("page", "line", "tess")}
    spent = {"ours": 0.0, "tess": 0.0}
    with tempfile.TemporaryDirectory(prefix="vitocr-pages-") as workdir:
        for name, image, truth, true_lines in pages(args.recipe, Path(workdir)):
            start = time.perf_counter()
            found = read_file(image, recognizer, beams=args.beams)
            ours = "\n".join(p.text for p in found)
            ours_s = time.perf_counter() - start
            start = time.perf_counter()
            theirs = tesseract_page(image)
            tess_s = time.perf_counter() - start
            page, tess, line = ErrorCounts(), ErrorCounts(), ErrorCounts()
            page.add(norm(truth), norm(ours))
            tess.add(norm(truth), norm(theirs))
            if true_lines:
                for sample, result in zip(true_lines, recognizer.recognize([load_line(s) for s in true_lines],
                                                                           beams=args.beams)):
                    line.add(norm(sample.text), norm(result.text))
                totals["line"] += line
            totals["page"] += page
            totals["tess"] += tess
            spent["ours"] += ours_s
            spent["tess"] += tess_s
            line_cer = f"{line.cer:.2%}" if true_lines else "-"
            print(f"| {name} | {len(true_lines) or '-'} | {page.cer:.2%} | {line_cer} | {tess.cer:.2%} | "
                  f"{ours_s:.1f} | {tess_s:.1f} |", flush=True)
    n = totals["page"].lines
    print(f"| all ({n} pages) | | {totals['page'].cer:.2%} | {totals['line'].cer:.2%} | {totals['tess'].cer:.2%} | "
          f"{spent['ours']:.1f} | {spent['tess']:.1f} |")
    print(f"\npages/s: ours {n / spent['ours']:.2f}, tesseract {n / spent['tess']:.2f} "
          f"(ratio {spent['tess'] / spent['ours']:.2f}x)")


if __name__ == "__main__":
    main()
