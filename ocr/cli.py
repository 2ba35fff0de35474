"""`vitocr` command line: parse arguments, call the library, print. Training is imported only when asked for."""
import argparse
import os
import sys
from pathlib import Path

from .allocator import keep_freed_memory
from .errors import VitocrError


def int_range(low: int, high: int = None):
    """An argparse type: an integer from `low` to `high`, or argparse's one-line usage error naming the flag."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"give a number {bound}, not {value}")
        return value
    return parse


def confidence(text: str) -> float:
    """An argparse type: a confidence from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"give a confidence from 0 to 1, not {text}")
    return value


def add_decoder_arguments(p):
    p.add_argument("--beams", type=int_range(1), default=None,
                   help="beam width of the attention and joint decoders, 1 = greedy (default: the model's own, "
                        "`beams` in its config.json)")
    p.add_argument("--decoder", default="auto", choices=["auto", "attention", "ctc", "joint"],
                   help="attention (Transformer decoder), ctc (the encoder's CTC head), joint (beam search scored by "
                        "both: slower, fewer errors) or auto (the model's choice)")
    p.add_argument("--lm-weight", type=float, default=None,
                   help="how much beam search listens to the model's language model (lm.json, from `vitocr lm`); "
                        "0 turns it off (default: the model's own, `lm_weight` in its config.json)")
    p.add_argument("--views", type=int_range(1, 3), default=None,
                   help="read 1 to 3 copies of each line at once, as it is, zoomed out (in paper a fifth of its "
                        "height above and below) and squeezed (90 %% of its width), the search averaging their votes: "
                        "slower, fewer errors on handwriting (default: the model's own, `views` in its config.json)")


def add_transcribe(sub):
    p = sub.add_parser("transcribe", help="read documents: images, TIFF and PDF pages, folders, globs",
                       description="Find the text lines of each page and read them.")
    p.add_argument("inputs", nargs="+", help="image or PDF files, folders, glob patterns")
    p.add_argument("-o", "--output", help="output file (one input) or folder; default: text to stdout")
    p.add_argument("--format", default="txt", help="comma-separated: txt, json, hocr, alto, page, pdf")
    p.add_argument("--model", help="bundled model (printed, handwritten) or a model folder; default: printed")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    add_decoder_arguments(p)
    p.add_argument("--batch-size", type=int_range(1), default=16)
    p.add_argument("--dpi", type=int_range(36, 1200), default=300, help="resolution PDFs are rendered at")
    p.add_argument("--layout", choices=["page", "line"], default="page",
                   help="page: find the lines; line: every input image is one text line")
    p.add_argument("--lines-from", help="read the lines of this PAGE/ALTO file instead of finding them")
    p.add_argument("--min-confidence", type=confidence, default=None,
                   help="drop found lines read with a lower confidence (0-1) as noise, e.g. a photo's texture "
                        "(default: the model's, `min_confidence` in its config.json; 0 keeps every line)")
    p.set_defaults(run=run_transcribe, more_paths="inputs")


def run_transcribe(args) -> int:
    from .transcribe_command import transcribe_command

    return transcribe_command(args)


def add_train(sub):
    from training.config import add_arguments  # stdlib only: torch waits until the command runs

    p = sub.add_parser("train", help="train or fine-tune a model on line images",
                       description="Train a line recogniser. Flags can also come from a YAML recipe (--config).")
    add_arguments(p)
    p.set_defaults(run=run_train)


def run_train(args) -> int:
    from training.config import config_from_args
    from training.trainer import train

    train(config_from_args(args))
    return 0


def add_average(sub):
    p = sub.add_parser("average", help="average the weights of a model and a fine-tuned copy of it",
                       description="Write (1 - w) x FIRST + w x SECOND, tensor by tensor, as a new model folder "
                                   "(WiSE-FT: the average of a model and its fine-tune often keeps what the first "
                                   "read well and adds what the fine-tune learned). Reading settings come from FIRST.")
    p.add_argument("first", help="bundled model (printed, handwritten) or a model folder")
    p.add_argument("second", help="a model folder fine-tuned from FIRST (same architecture and tokenizer)")
    p.add_argument("-o", "--output", required=True, help="model folder to write (replaced if it exists)")
    p.add_argument("--weight", type=float, default=0.5, help="the second model's share, 0 to 1 (default: 0.5)")
    p.set_defaults(run=run_average)


def run_average(args) -> int:
    from training.average import average_models

    from .pipeline import model_path

    average_models(model_path(args.first), model_path(args.second), args.output, args.weight)
    print(f"wrote {args.output}: {1 - args.weight:g} x {args.first} + {args.weight:g} x {args.second}")
    return 0


def add_lm(sub):
    p = sub.add_parser("lm", help="add a language model of your documents' text to a model",
                       description="Count an n-gram model of the text the model will read (lm.json) and write a copy "
                                   "of the model folder that reads with it: beam search then prefers the words and "
                                   "spellings of that text. Give text in the documents' own lines and spelling.")
    p.add_argument("model", help="bundled model (printed, handwritten) or a model folder")
    p.add_argument("text", nargs="*", help=".txt files (one line of text per line), or transcribed line sets: "
                                           "folders, manifests, PAGE or ALTO files (only their text is read)")
    p.add_argument("--recipe", help="also the real lines a training recipe (or a run's train_config.json) trains on, "
                                    "its held-out lines left out")
    p.add_argument("-o", "--output", required=True, help="model folder to write (replaced if it exists; may be MODEL)")
    p.add_argument("--order", type=int_range(1, 12), default=5, help="tokens of context + 1 (default: 5)")
    p.add_argument("--weight", type=float, default=0.3,
                   help="its share in beam search, `lm_weight` in config.json (default: 0.3; change it later with "
                        "--lm-weight when reading)")
    p.add_argument("--background", nargs="+", default=[], metavar="TEXT",
                   help="general text to mix in, for the words your text lacks: `english` (English words by their "
                        "frequency; needs the wordfreq package) and/or .txt files or line sets")
    p.add_argument("--background-share", type=float, default=0.3,
                   help="the background's part of the mixed probabilities (default: 0.3)")
    p.set_defaults(run=run_lm, more_paths="text")


def run_lm(args) -> int:
    from training.language_model import build_language_model

    from .pipeline import model_path

    if not args.text and not args.recipe:
        raise VitocrError("give the text to count: .txt files or transcribed line sets, or --recipe RECIPE.")
    build_language_model(model_path(args.model), args.text, args.output, args.recipe, args.order, args.weight,
                         args.background, args.background_share)
    return 0


def add_eval(sub):
    p = sub.add_parser("eval", help="CER/WER of a model on transcribed lines",
                       description="Evaluate a model on folders of line images + .gt.txt, manifests or PAGE/ALTO.")
    p.add_argument("data", nargs="*", help="folders, manifests (.jsonl/.tsv/.csv), PAGE or ALTO files")
    p.add_argument("--held-out", metavar="RECIPE", help="instead of data: the real lines a training recipe's run "
                                                        "held out for validation (split as `vitocr train` does)")
    p.add_argument("--model", default=None, help="bundled model (printed, handwritten) or a model folder")
    p.add_argument("--device", default="auto")
    add_decoder_arguments(p)
    p.add_argument("--batch-size", type=int_range(1), default=16)
    p.add_argument("--limit", type=int_range(0), default=0, help="evaluate only the first N lines (0: all)")
    p.add_argument("--where", nargs="+", help="keep manifest rows with field=value, e.g. has_greek=false")
    p.add_argument("--unicode", default="NFC", choices=["NFC", "NFKC", "NFD", "NFKD", "none"])
    p.add_argument("--ignore-case", action="store_true")
    p.add_argument("--collapse-whitespace", action="store_true")
    p.add_argument("--ignore-punctuation", action="store_true")
    p.add_argument("--mapping", help="file of 'source<TAB>target' rules applied to both sides, e.g. '¬<TAB>', or a "
                                     "bundled one: 'typographic' (curly quotes and dashes read as ASCII)")
    p.add_argument("--report", help="per-line report, worst first: .csv or .jsonl")
    p.add_argument("--confusions", type=int_range(0), default=10, help="show the N most frequent character confusions")
    p.add_argument("--threshold", type=confidence, help="flag lines whose confidence is below this for review")
    p.add_argument("--compare", choices=["tesseract"], help="also run this engine on the same lines")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run_eval, more_paths="data")


def run_eval(args) -> int:
    from .eval_command import evaluate_command

    return evaluate_command(args)


def add_data(sub):
    p = sub.add_parser("data", help="inspect training data")
    data_sub = p.add_subparsers(dest="data_command", required=True)
    check = data_sub.add_parser("check", help="counts, charset, histograms and every problem, with file names")
    check.add_argument("paths", nargs="+", help="folders, manifests, PAGE or ALTO files")
    check.add_argument("--model", help="also report characters outside this model's charset")
    check.add_argument("--all", action="store_true", help="list every problem, not the first 50")
    check.add_argument("--quick", action="store_true", help="read image headers only, not whole images")
    check.set_defaults(run=run_data_check)


def run_data_check(args) -> int:
    from training.datacheck import check_data, format_report

    tokenizer = None
    if args.model:
        from .checkpoint import load_model
        from .pipeline import model_path

        tokenizer = load_model(model_path(args.model))[1]
    report = check_data(args.paths, tokenizer, verify_images=not args.quick)
    print(format_report(report, None if args.all else 50))
    return 1 if report.problems else 0


def add_ui(sub):
    p = sub.add_parser("ui", help="read and correct pages in the browser (needs: pip install 'vitocr[ui]')",
                       description="Start the correction app: read pages, fix the text, download it or keep the "
                                   "corrected lines as training data.")
    p.add_argument("--model", help="bundled model or a model folder to start with; default: printed")
    p.add_argument("--port", type=int_range(1, 65535), default=8501)
    p.add_argument("--max-upload-mb", type=int_range(1), default=100, help="largest file the app accepts")
    p.add_argument("--headless", action="store_true", help="do not open a browser window")
    p.set_defaults(run=run_ui)


def run_ui(args) -> int:
    from ui.launch import launch

    return launch(args.model, args.port, args.max_upload_mb, args.headless)


def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vitocr")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def parse_intermixed(parser, argv):
    """Parse, taking paths given after the options (`vitocr eval a/ --model m b/`) as the command's paths too: plain
    argparse stops its list of paths at the first option and calls the rest unrecognised."""
    args, extra = parser.parse_known_args(argv)
    dest = getattr(args, "more_paths", None)
    if extra and (dest is None or any(e.startswith("-") for e in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        setattr(args, dest, (getattr(args, dest) or []) + extra)
    return args


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="vitocr", description="OCR with vision transformers.")
    parser.add_argument("--version", action="version", version=f"vitocr {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_transcribe(sub)
    add_train(sub)
    add_eval(sub)
    add_average(sub)
    add_lm(sub)
    add_data(sub)
    add_ui(sub)
    args = parse_intermixed(parser, argv)
    try:
        return args.run(args)
    except VitocrError as e:
        print(f"vitocr: {e}", file=sys.stderr)
        return 2


def console_main() -> int:
    """The `vitocr` command (and `python -m ocr.cli`): our own process, so the allocator is ours to tune."""
    keep_freed_memory()
    try:
        return main()
    except BrokenPipeError:  # `vitocr transcribe ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush does not fail again
        return 1


if __name__ == "__main__":
    sys.exit(console_main())
