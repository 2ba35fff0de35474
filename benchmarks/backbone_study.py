"""The backbone study: CNN-hybrid vs ViT vs DeiT (with and without distillation) vs Swin, same decoder, same data,
same step budget, on this machine.

Part 1 (budget): every encoder trained from scratch by training/recipes/study.yaml for --steps steps; validation CER
on held-out synthetic lines, parameters, encoder GFLOPs per 32x512 line, training lines/s (median of the run's log)
and greedy inference lines/s (all models timed in turn in this process). deit_tiny+distill learns from the hybrid's
model through its distillation token.
Part 2 (data): fine-tuned on 500, 2000 and all hooker-hw-train lines (folio groups held out) for --data-steps steps,
from scratch and from part 1's synthetic-trained models.

    python benchmarks/backbone_study.py --steps 600 --data-steps 150     # both parts, then the report
    python benchmarks/backbone_study.py --report                          # tables and plots from finished runs
    python benchmarks/backbone_study.py --part data --report              # part 2 only (part 1 re-times inference)

Runs go to runs/study/ (a finished run is not trained again; a killed one resumes); plots to docs/img/.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from training_curve import read_log

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

RUNS = ROOT / "runs" / "study"
RECIPE = ROOT / "training" / "recipes" / "study.yaml"
HOOKER = ROOT.parent / "shared" / "data" / "hooker-hw-train" / "manifest.jsonl"
BUDGET = [("hybrid_tiny", None), ("vit_tiny", None), ("deit_tiny", None), ("deit_tiny+distill", "hybrid_tiny"),
          ("swin_tiny", None)]
DATA_ENCODERS = ["hybrid_tiny", "vit_tiny", "deit_tiny", "swin_tiny"]
DATA_SIZES = [500, 2000, 0]  # 0: all


def train(output: Path, args: list):
    """One run, unless it is finished or another lane holds its lock (lanes share the list of runs)."""
    done = output / "last" / "model.safetensors"
    if done.exists():
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    lock = output.parent / f"{output.name}.lock"
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        print(f"skipping {output.name}: another lane trains it (delete {lock.name} if none does)", flush=True)
        return
    command = [sys.executable, "-m", "ocr.cli", "train", "--output", str(output), "--resume", *map(str, args)]
    print("$", " ".join(command[2:]), flush=True)
    try:
        with (output.parent / f"{output.name}.log").open("a") as log:
            subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=True)
    finally:
        lock.unlink()


def budget_runs(steps: int, names):
    for name, teacher in BUDGET:
        if names and name not in names:
            continue
        encoder = name.split("+")[0]
        extra = ["--teacher", RUNS / teacher / "best"] if teacher else []
        train(RUNS / name, ["--config", RECIPE, "--encoder", encoder, "--steps", steps, *extra])


def data_runs(steps: int, names):
    if not HOOKER.exists():
        print(f"skipping part 2: {HOOKER.relative_to(ROOT.parent)} is not here")
        return
    for encoder in DATA_ENCODERS:
        if names and encoder not in names:
            continue
        for size in DATA_SIZES:
            for start in ("scratch", "synthetic"):
                init = ["--init-from", RUNS / encoder / "best"] if start == "synthetic" else ["--encoder", encoder]
                train(RUNS / "data" / f"{encoder}-{size or 'all'}-{start}",
                      ["--config", RECIPE, "--synthetic", 0, "--synthetic-val", 0, "--train", HOOKER,
                       "--val-fraction", 0.1, "--val-lines", 200, "--train-lines", size, "--augment", "handwriting",
                       "--steps", steps, "--val-every", steps, *init])


def inference_speed(models: dict, images, reps: int = 2) -> dict:
    """Greedy lines/s of each model on the same lines, taking turns so machine load hits all alike."""
    from ocr import load_model
    from ocr.recognizer import Recognizer

    recognizers = {name: Recognizer(*load_model(path)) for name, path in models.items()}
    seconds = {name: [] for name in models}
    for _ in range(reps):
        for name, recognizer in recognizers.items():
            start = time.perf_counter()
            recognizer.recognize(images, beams=1, batch_size=16)
            seconds[name].append(time.perf_counter() - start)
    return {name: len(images) / min(s) for name, s in seconds.items()}


def budget_results() -> list:
    """Part 1 rows: CER, size and cost of each encoder's run; inference is timed here, all models in turn."""
    import torch

    from encoder_cost import count_flops
    from ocr import load_model
    from training.synthetic import SyntheticLines

    rows = []
    for name, _ in BUDGET:
        run = RUNS / name
        if not (run / "last" / "model.safetensors").exists():
            continue
        log = read_log(run)
        model, _ = load_model(run / "best")
        encoder = model.encoder.eval()
        flops, attention = count_flops(encoder, torch.rand(1, 1, encoder.height, 512), torch.tensor([512]))
        rows.append({"encoder": name, "val_cer": min(v for _, v in log["val_cer"]), "curve": log["val_cer"],
                     "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
                     "encoder_params_m": sum(p.numel() for p in encoder.parameters()) / 1e6,
                     "encoder_gflops": flops / 1e9, "attention_share": attention / flops,
                     "train_lines_per_s": statistics.median(v for _, v in log["lines_per_s"])})
    if rows:
        val = SyntheticLines(200, ("print", "typewriter"), seed=1_000_003, max_chars=40)
        images = [val[i][0] for i in range(len(val))]
        speed = inference_speed({r["encoder"]: RUNS / r["encoder"] / "best" for r in rows}, images)
        for r in rows:
            r["infer_lines_per_s"] = speed[r["encoder"]]
    return rows


def data_results() -> list:
    """Part 2 rows: the last validation of every finished data run."""
    data = []
    for encoder in DATA_ENCODERS:
        for size in DATA_SIZES:
            for start in ("scratch", "synthetic"):
                run = RUNS / "data" / f"{encoder}-{size or 'all'}-{start}"
                log = read_log(run) if (run / "log.csv").exists() else {}
                if "val_ctc_cer" in log:
                    data.append({"encoder": encoder, "lines": size or "all", "start": start,
                                 "attention_cer": log["val_cer"][-1][1], "ctc_cer": log["val_ctc_cer"][-1][1]})
    return data


def report(steps: int, part: str):
    """Tables, plots and runs/study/results.json for the parts asked for; the other part's results are kept."""
    results_file = RUNS / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {"budget": [], "data": []}
    if part != "data":
        results["budget"] = budget_results()
    if part != "budget":
        results["data"] = data_results()
    RUNS.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(results, indent=1))
    rows, data = results["budget"], results["data"]
    print(f"\nPart 1: {steps} steps each, synthetic validation CER (best of the run)\n")
    print("| encoder | val CER | params (enc / all) | enc GFLOPs/line | attention share | train lines/s | "
          "infer lines/s |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['encoder']} | {r['val_cer']:.1%} | {r['encoder_params_m']:.2f}M / {r['params_m']:.2f}M | "
              f"{r['encoder_gflops']:.2f} | {r['attention_share']:.0%} | {r['train_lines_per_s']:.1f} | "
              f"{r['infer_lines_per_s']:.1f} |")
    if data:
        print("\nPart 2: hooker-hw-train held-out folios, CER after fine-tuning: CTC head (attention decoder)\n")
        print("| encoder | start | 500 lines | 2000 lines | all |\n|---|---|---|---|---|")
        for encoder in DATA_ENCODERS:
            for start in ("scratch", "synthetic"):
                cells = {d["lines"]: d for d in data if d["encoder"] == encoder and d["start"] == start}
                print(f"| {encoder} | {start} | " + " | ".join(
                    f"{cells[k]['ctc_cer']:.1%} ({cells[k]['attention_cer']:.1%})" if k in cells else "-"
                    for k in (500, 2000, "all")) + " |")
    plot(rows if part != "data" else [], data if part != "budget" else [])


def plot(rows, data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    if rows:
        fig, (curves, cost) = plt.subplots(1, 2, figsize=(12, 4.5))
        for r in rows:
            steps, cer = zip(*r["curve"])
            curves.plot(steps, [100 * c for c in cer], "o-", label=r["encoder"])
            cost.scatter(r["encoder_gflops"], 100 * r["val_cer"], s=40 * r["params_m"])
            cost.annotate(r["encoder"], (r["encoder_gflops"], 100 * r["val_cer"]), fontsize=8)
        curves.set(xlabel="training step", ylabel="validation CER (%)", title="same data, same decoder, same steps",
                   yscale="log")
        curves.legend(fontsize=8)
        cost.set(xlabel="encoder GFLOPs per 32x512 line", ylabel="best validation CER (%)",
                 title="accuracy against cost (size: parameters)")
        for ax in (curves, cost):
            ax.grid(True, alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "study_budget.png", dpi=110)
    if data:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for colour, encoder in enumerate(DATA_ENCODERS):
            for start, style in (("synthetic", "o-"), ("scratch", "x--")):
                points = [(500 if d["lines"] == 500 else 2000 if d["lines"] == 2000 else 4600, 100 * d["ctc_cer"])
                          for d in data if d["encoder"] == encoder and d["start"] == start]
                if points:
                    ax.plot(*zip(*points), style, color=f"C{colour}", label=f"{encoder} ({start})")
        ax.set(xscale="log", xlabel="hooker training lines", ylabel="held-out CER, CTC head (%)",
               title="data hunger")
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "study_data.png", dpi=110)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=600, help="part 1 step budget per encoder")
    p.add_argument("--data-steps", type=int, default=150, help="part 2 step budget per run")
    p.add_argument("--part", choices=["budget", "data", "both"], default="both")
    p.add_argument("--encoders", nargs="+", help="only these; or run the same command twice, one CPU core each: "
                   "the lanes share the runs")
    p.add_argument("--report", action="store_true", help="only tables and plots from the runs already there")
    p.add_argument("--no-report", action="store_true", help="train only")
    args = p.parse_args(argv)
    if not args.report:
        if args.part in ("budget", "both"):
            budget_runs(args.steps, args.encoders)
        if args.part in ("data", "both"):
            data_runs(args.data_steps, args.encoders)
    if not args.no_report:
        report(args.steps, args.part)


if __name__ == "__main__":
    main()
