"""`vitocr eval`: read the data, recognise, score, print; optional per-line report and Tesseract comparison."""
import csv
import io
import json
import sys
from functools import partial

from tqdm.auto import tqdm

from .atomic import write_atomic
from .errors import VitocrError
from .evaluation import build_report, evaluate_recognizer
from .metrics import load_mapping, normalize
from .pipeline import load_recognizer


def read_samples(args):
    """(LineSamples, problems): the data arguments, or the lines `--held-out RECIPE` never trained on."""
    from training.readers import parse_where, read_sources
    from training.setup import held_out_lines

    if args.data and args.held_out:
        raise VitocrError("give the data to evaluate or --held-out RECIPE (the lines a recipe's run held out), "
                          "not both.")
    if not args.data and not args.held_out:
        raise VitocrError("give the data to evaluate, or --held-out RECIPE for the lines a recipe's run held out.")
    if args.held_out:
        return held_out_lines(args.held_out), []
    result = read_sources(args.data, parse_where(args.where))
    return result.samples, result.problems


def load_lines(samples, limit: int = 0, problems=()):
    """(images, texts, names, problems) of LineSamples; unreadable files are skipped and reported."""
    from training.dataset import load_line

    samples = samples[:limit] if limit else samples
    images, texts, names, problems = [], [], [], list(problems)
    for s in tqdm(samples, desc="loading", unit="line", disable=len(samples) < 500, file=sys.stderr):
        try:
            images.append(load_line(s))
        except VitocrError as e:
            problems.append(str(e))
            continue
        texts.append(s.text)
        names.append(s.image if s.crop is None else f"{s.image}#{','.join(map(str, s.crop))}")
    return images, texts, names, problems


def write_report(path: str, rows: list, extra_columns: dict = None):
    columns = ["image", "reference", "prediction", "cer", "confidence", "flagged"] + list(extra_columns or {})
    for row in rows:
        for name, values in (extra_columns or {}).items():
            row[name] = values[row["image"]]
    if path.endswith(".jsonl"):
        text = "".join(json.dumps({c: r[c] for c in columns}, ensure_ascii=False) + "\n" for r in rows)
    elif path.endswith(".csv"):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    else:
        raise VitocrError(f"--report {path}: use a .csv or .jsonl file name.")
    write_atomic(path, text)


def evaluate_command(args) -> int:
    try:
        mapping = load_mapping(args.mapping) if args.mapping else None
    except ValueError as e:
        raise VitocrError(f"--mapping {e}.") from None
    normalise = partial(normalize, form=None if args.unicode == "none" else args.unicode, casefold=args.ignore_case,
                        collapse_whitespace=args.collapse_whitespace, remove_punctuation=args.ignore_punctuation,
                        mapping=mapping)
    recognizer = load_recognizer(args.model, args.device, args.decoder, args.lm_weight, args.views)
    samples, problems = read_samples(args)
    images, texts, names, problems = load_lines(samples, args.limit, problems)
    for p in problems:
        print(f"skipped: {p}", file=sys.stderr)
    if not images:
        raise VitocrError(f"no transcribed lines found in {', '.join(args.data or [args.held_out])}; "
                          "see `vitocr data check`.")
    with tqdm(total=len(images), desc="recognising", unit="line", file=sys.stderr) as bar:
        report = evaluate_recognizer(recognizer, images, texts, names, args.beams, args.batch_size, normalise,
                                     args.threshold, progress=bar.update)
    summary = {"vitocr": report.summary(), "read_with": recognizer.reading(args.beams)}
    tesseract_predictions = None
    if args.compare == "tesseract":
        tesseract_predictions, summary["tesseract"] = compare_tesseract(images, texts, names, normalise)
    if args.report:
        extra = {"tesseract": dict(zip(names, tesseract_predictions))} if tesseract_predictions else None
        write_report(args.report, report.worst_first(), extra)
    if args.json:
        summary["confusions"] = report.confusions[: args.confusions]
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print_summary(report, summary, args)
    return 1 if problems else 0


def compare_tesseract(images, texts, names, normalise):
    from .tesseract import tesseract_available, tesseract_line

    if not tesseract_available():
        raise VitocrError("--compare tesseract: the tesseract command is not installed "
                          "(Debian/Ubuntu: apt install tesseract-ocr).")
    predictions = [tesseract_line(im) for im in tqdm(images, desc="tesseract", unit="line", file=sys.stderr)]
    report = build_report(names, texts, predictions, [1.0] * len(images), 1.0, normalise)
    return predictions, {"cer": report.counts.cer, "wer": report.counts.wer,
                         "line_accuracy": report.counts.line_accuracy}


def print_summary(report, summary, args):
    c = report.counts
    print(f"read with: {summary['read_with']}")
    print(f"{c.lines} lines: CER {c.cer:.2%}  WER {c.wer:.2%}  line accuracy {c.line_accuracy:.2%}  "
          f"({report.lines_per_second:.1f} lines/s)")
    if report.low_confidence_cer is not None:
        print(f"confidence: the least confident 10 % of lines have CER {report.low_confidence_cer:.2%}, "
              f"the rest {report.rest_cer:.2%}")
    if report.threshold is not None:
        print(f"{report.flagged} line(s) below confidence {report.threshold} flagged for review")
    if "tesseract" in summary:
        t = summary["tesseract"]
        print(f"{'':12}{'CER':>9}{'WER':>9}{'lines ok':>10}\n{'vitocr':12}{c.cer:>9.2%}{c.wer:>9.2%}"
              f"{c.line_accuracy:>10.2%}\n{'tesseract':12}{t['cer']:>9.2%}{t['wer']:>9.2%}{t['line_accuracy']:>10.2%}")
    if report.confusions and args.confusions:
        shown = ", ".join(f"{a or '∅'!r}→{b or '∅'!r} {n}" for a, b, n in report.confusions[: args.confusions])
        print(f"most frequent confusions (reference→prediction): {shown}")
    if args.report:
        print(f"per-line report, worst first: {args.report}")
