"""Validation CER against training time, from run folders' log.csv: the from-scratch curve of the training issue.

Training time excludes validation. Runs logged before `train_s` existed get it back from their per-10-step lines/s
and batch size (train_config.json).

    python benchmarks/training_curve.py runs/stage1b --plot docs/img/curve_printed_stage1.png
"""
import argparse
import csv
import json
from pathlib import Path


def read_log(run: Path) -> dict:
    """A run's log.csv as {name: [(step, value), ...]}."""
    values = {}
    with (run / "log.csv").open() as f:
        for row in csv.DictReader(f):
            values.setdefault(row["name"], []).append((int(row["step"]), float(row["value"])))
    return values


def curve(run: Path):
    """[(step, training minutes, validation CER, ctc CER or None)]"""
    batch = json.loads((run / "train_config.json").read_text())["batch_size"]
    log = read_log(run)
    seconds = dict(log.get("train_s", []))
    clock = 0.0
    for step, speed in log.get("lines_per_s", []):  # runs logged before train_s existed
        clock += 10 * batch / speed
        seconds.setdefault(step, clock)
    vals, ctc = dict(log.get("val_cer", [])), dict(log.get("val_ctc_cer", []))
    known = sorted(seconds)
    rows = []
    for step in sorted(vals):
        before = [s for s in known if s <= step]
        rows.append((step, seconds[before[-1]] / 60 if before else 0.0, vals[step], ctc.get(step)))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--plot", type=Path)
    args = p.parse_args(argv)
    curves = {run: curve(run) for run in args.runs}
    for run, rows in curves.items():
        print(f"{run}\n| step | training min | validation CER |\n|---:|---:|---:|")
        for step, minutes, cer, _ in rows:
            print(f"| {step} | {minutes:.1f} | {100 * cer:.2f} % |")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.5))
        for run, rows in curves.items():
            ax.plot([r[1] for r in rows], [100 * r[2] for r in rows], "o-", label=run.name)
        ax.axhline(5, color="k", ls="--", alpha=0.5, label="5 % target")
        ax.axvline(30, color="r", ls=":", alpha=0.5, label="30 minutes")
        ax.set(xlabel="training minutes (2 CPU cores, validation excluded)", ylabel="validation CER (%)",
               yscale="log", title="from scratch on synthetic printed lines")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=110)


if __name__ == "__main__":
    main()
