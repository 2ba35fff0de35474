"""`vitocr transcribe`: every input file in turn; a bad file is reported and skipped, the others are written."""
import sys
from pathlib import Path

from tqdm.auto import tqdm

from .document import Document
from .errors import VitocrError
from .pages import expand_inputs, iter_pages
from .pipeline import load_recognizer, read_file

EXTENSIONS = {"txt": ".txt", "json": ".json", "hocr": ".hocr", "alto": ".alto.xml", "page": ".page.xml",
              "pdf": ".pdf"}


def output_path(args, source: Path, fmt: str, single: bool) -> Path:
    out = Path(args.output)
    if single and not out.is_dir() and (out.suffix or len(args.formats) == 1) and not str(args.output).endswith("/"):
        return out if len(args.formats) == 1 else out.with_suffix(EXTENSIONS[fmt])
    return out / (source.stem + EXTENSIONS[fmt])


def transcribe_command(args) -> int:
    from .writers import FORMATS, write_document

    args.formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = [f for f in args.formats if f not in FORMATS]
    if unknown:
        raise VitocrError(f"--format {','.join(unknown)}: choose from {', '.join(sorted(FORMATS))}.")
    if not args.output and args.formats != ["txt"]:
        raise VitocrError("--format other than txt needs -o/--output (a file or a folder).")
    files = expand_inputs(args.inputs)
    recognizer = load_recognizer(args.model, args.device, args.decoder, args.lm_weight, args.views)
    failed = 0
    with tqdm(desc="lines", unit="line", file=sys.stderr, disable=None) as bar:
        if args.layout == "line":
            return read_line_images(files, recognizer, args, bar)
        for path in files:
            try:
                pages = read_file(path, recognizer, args.beams, args.batch_size, args.dpi, args.lines_from,
                                  progress=bar.update, min_confidence=args.min_confidence)
            except VitocrError as e:
                print(f"vitocr: {e} Skipped.", file=sys.stderr)
                failed += 1
                continue
            doc = Document(pages, str(args.model or "printed"))
            if not any(p.lines for p in pages):
                print(f"vitocr: {path}: no text found.", file=sys.stderr)
            dropped = sum(p.dropped_lines for p in pages)
            if dropped:
                print(f"vitocr: {path}: {dropped} found line(s) read too unsurely to be text were dropped as noise; "
                      "--min-confidence 0 keeps them.", file=sys.stderr)
            if not args.output:
                print(doc.text)
                continue
            for fmt in args.formats:
                images = [p.image for p in iter_pages(path, args.dpi)] if fmt == "pdf" else None
                target = output_path(args, path, fmt, len(files) == 1)
                write_document(doc, target, fmt, images)
    if failed:
        print(f"vitocr: {failed} of {len(files)} file(s) could not be read.", file=sys.stderr)
    return 1 if failed else 0


def read_line_images(files, recognizer, args, bar) -> int:
    """--layout line: each image is one line; prints file, confidence and text (tab-separated)."""
    from .images import load_image

    images, names, failed = [], [], 0
    for path in files:
        try:
            images.append(load_image(path))
            names.append(str(path))
        except VitocrError as e:
            print(f"vitocr: {e} Skipped.", file=sys.stderr)
            failed += 1
    results = recognizer.recognize(images, beams=args.beams, batch_size=args.batch_size, progress=bar.update)
    for name, result in zip(names, results):
        print(f"{name}\t{result.confidence:.3f}\t{result.text}")
    return 1 if failed else 0
