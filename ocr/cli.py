"""`vitocr` command line: parse arguments, call the library, print. Training is imported only when asked for."""
import argparse
import sys
from pathlib import Path

from .errors import VitocrError


def add_transcribe(sub):
    p = sub.add_parser("transcribe", help="read text from line images")
    p.add_argument("inputs", nargs="+", help="image files (each one text line)")
    p.add_argument("--model", required=True, help="model folder (config.json, model.safetensors, tokenizer.json)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--beams", type=int, default=4, help="beam width; 1 = greedy")
    p.add_argument("--batch-size", type=int, default=16)
    p.set_defaults(run=run_transcribe)


def run_transcribe(args) -> int:
    from PIL import Image

    from .recognizer import Recognizer

    recognizer = Recognizer.load(args.model, args.device)
    images, names, failed = [], [], 0
    for name in args.inputs:
        try:
            with Image.open(name) as im:
                images.append(im.convert("L"))
            names.append(name)
        except (OSError, ValueError) as e:
            print(f"{name}: cannot read this image ({e}); skipped.", file=sys.stderr)
            failed += 1
    for name, result in zip(names, recognizer.recognize(images, beams=args.beams, batch_size=args.batch_size)):
        print(f"{name}\t{result.confidence:.3f}\t{result.text}")
    return 1 if failed else 0


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="vitocr", description="OCR with vision transformers.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_transcribe(sub)
    add_train(sub)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except VitocrError as e:
        print(f"vitocr: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
