"""Training throughput with glibc's malloc as it comes against the settings `vitocr` applies (ocr/allocator.py).

Each run is a fresh process training the bundled `printed` model's architecture on synthetic lines with the
bad-capture augmentation (the CPU training the bundled models go through), for the same number of steps; the two
settings take turns, so a drift in machine load hits both alike. Lines/s is the trainer's own figure (its log.csv,
every 10 steps) once the first 10 steps are past, the median over the run; wall time covers the whole `vitocr train`
call (start-up included); page faults are those of the run and its data-loading worker.

    python benchmarks/allocator.py               # 2 runs each, 40 steps of 24 lines
    python benchmarks/allocator.py --quick       # 1 run each, 20 steps

Needs the fonts of training/install-fonts.sh.
"""
import argparse
import csv
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(mode: str, train_args):
    sys.path.insert(0, str(ROOT))
    from ocr.allocator import keep_freed_memory
    from ocr.cli import main

    if mode == "tuned" and not keep_freed_memory():
        sys.exit("the allocator settings could not be applied here (not Linux with glibc, or MALLOC_* set)")
    sys.exit(main(train_args))


def run(mode: str, steps: int, batch: int, output: Path):
    train_args = ["train", "--init-from", "printed", "--synthetic", "2000", "--augment", "print-degraded",
                  "--steps", str(steps), "--batch-size", str(batch), "--val-every", "1000000",
                  "--save-every", "1000000", "--workers", "1", "--output", str(output)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child", mode, "--", *train_args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    with open(output / "log.csv", newline="") as f:
        speeds = [float(r["value"]) for r in csv.DictReader(f) if r["name"] == "lines_per_s" and int(r["step"]) > 10]
    return statistics.median(speeds), seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=2, help="runs per setting (default: 2)")
    p.add_argument("--steps", type=int, default=40, help="training steps per run, at least 20 (default: 40)")
    p.add_argument("--batch", type=int, default=24)
    p.add_argument("--quick", action="store_true", help="1 run each of 20 steps")
    p.add_argument("--child", choices=["default", "tuned"], help=argparse.SUPPRESS)
    args, rest = p.parse_known_args(argv)
    if args.child:
        child(args.child, [a for a in rest if a != "--"])
    runs, steps = (1, 20) if args.quick else (args.runs, max(20, args.steps))
    results = {"default": [], "tuned": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(runs):
            for mode in (["default", "tuned"] if r % 2 == 0 else ["tuned", "default"]):
                results[mode].append(run(mode, steps, args.batch, Path(tmp) / f"{mode}-{r}"))
    print(f"# allocator: `vitocr train` of the printed architecture, {steps} steps x {args.batch} synthetic lines, "
          f"{runs} run(s) each\n")
    print("| malloc | training lines/s | run s | page faults / run |\n|---|---:|---:|---:|")
    speed = {}
    for mode, rows in results.items():
        speed[mode] = statistics.median(r[0] for r in rows)
        seconds, faults = statistics.median(r[1] for r in rows), statistics.median(r[2] for r in rows)
        print(f"| {mode} | {speed[mode]:.1f} | {seconds:.0f} | {faults:,.0f} |")
    print(f"\ntuned / default training speed: {speed['tuned'] / speed['default']:.2f}x")


if __name__ == "__main__":
    main()
