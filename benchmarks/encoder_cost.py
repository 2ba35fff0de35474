"""Encoder cost against resolution: time, peak memory and FLOPs as line width grows, and as line height doubles.

Global attention (ViT, DeiT, the hybrid's blocks) costs O(N^2 D) in the number of tokens N; Swin's windows cost
O(N M^2 D). Each configuration runs in its own process (so its peak memory is its own), one inference pass at
batch 8 after a warm-up, median of --reps. FLOPs come from torch's FlopCounterMode (attention included).

    python benchmarks/encoder_cost.py                  # tiny encoders, widths 256..4096, heights H and 2H
    python benchmarks/encoder_cost.py --quick          # two widths, one rep
    python benchmarks/encoder_cost.py --plot docs/img/encoder_cost.png
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENCODERS = ["vit_tiny", "deit_tiny", "swin_tiny", "hybrid_tiny"]


def count_flops(encoder, images, widths) -> tuple:
    """(total FLOPs, attention FLOPs) of one encoder pass, attention included (FlopCounterMode skips CPU SDPA)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    attention = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu:
                 lambda q, k, v, *args, **kwargs: sdpa_flop_count(q, k, v)}
    with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=attention) as counter:
        encoder(images, widths)
    counts = counter.get_flop_counts()["Global"]
    return counter.get_total_flops(), sum(v for k, v in counts.items() if "attention" in str(k))


def measure(name: str, width: int, height_factor: int, batch: int, reps: int) -> dict:
    """One configuration, in this process."""
    import torch

    sys.path.insert(0, str(ROOT))
    from backbones import create_encoder

    torch.manual_seed(0)
    base = create_encoder(name)
    encoder = create_encoder(name, height=base.height * height_factor, max_width=max(width, 1024)).eval()
    height = encoder.height
    images, widths = torch.rand(batch, 1, height, width), torch.full((batch,), width)
    with torch.no_grad():
        encoder(images[:1], widths[:1])  # warm-up, also the memory baseline's allocations
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            features, _ = encoder(images, widths)
            times.append(time.perf_counter() - start)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    flops, attention_flops = count_flops(encoder, images[:1], widths[:1])
    return {"encoder": name, "height": height, "width": width, "tokens": features.shape[1],
            "seconds": statistics.median(times), "lines_per_s": batch / statistics.median(times),
            "peak_mb": max(0, peak - before) / 1024, "gflops_per_line": flops / 1e9,
            "attention_share": attention_flops / max(1, flops)}


def run_one(args_list) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", *map(str, args_list)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def plot(rows, path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_time, ax_mem, ax_flops) = plt.subplots(1, 3, figsize=(15, 4.5))
    for name in dict.fromkeys(r["encoder"] for r in rows):
        mine = [r for r in rows if r["encoder"] == name and r["height_factor"] == 1]
        tokens = [r["width"] for r in mine]  # Swin's merges leave fewer final tokens: compare at equal input
        ax_time.plot(tokens, [1000 * r["seconds"] for r in mine], "o-", label=name)
        ax_mem.plot(tokens, [r["peak_mb"] for r in mine], "o-", label=name)
        ax_flops.plot(tokens, [r["gflops_per_line"] * r["attention_share"] for r in mine], "o-", label=name)
    for ax, title in ((ax_time, "encoder time, batch 8 (ms)"), (ax_mem, "peak extra memory (MB)"),
                      (ax_flops, "attention GFLOPs per line")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_xlabel("line width in pixels, height 32 (N grows with it)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    # theory: slope 2 (N^2) for global attention, slope 1 (N M^2) for windows, anchored at the first ViT point
    vit = [r for r in rows if r["encoder"] == "vit_tiny" and r["height_factor"] == 1]
    if vit:
        n0, f0 = vit[0]["width"], vit[0]["gflops_per_line"] * vit[0]["attention_share"]
        xs = [r["width"] for r in vit]
        ax_flops.plot(xs, [f0 * (x / n0) ** 2 for x in xs], "k--", alpha=0.5, label="O(N^2) from the first ViT point")
        ax_flops.plot(xs, [f0 * (x / n0) for x in xs], "k:", alpha=0.5, label="O(N) (windows)")
    ax_flops.legend(fontsize=8)
    ax_time.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--one", nargs=5, metavar=("NAME", "WIDTH", "HEIGHT_FACTOR", "BATCH", "REPS"), help=argparse.SUPPRESS)
    p.add_argument("--encoders", nargs="+", default=ENCODERS)
    p.add_argument("--widths", nargs="+", type=int, default=[256, 512, 1024, 2048, 4096])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--plot", type=Path, help="PNG of time, memory and attention FLOPs against tokens")
    p.add_argument("--json", type=Path, help="write the rows here")
    p.add_argument("--replot", type=Path, help="plot the rows of an earlier --json instead of measuring")
    args = p.parse_args(argv)
    if args.one:
        name, width, factor, batch, reps = args.one
        print(json.dumps(measure(name, int(width), int(factor), int(batch), int(reps))))
        return
    if args.replot:
        plot(json.loads(args.replot.read_text()), args.plot)
        return
    widths, reps = ([512, 2048], 1) if args.quick else (args.widths, args.reps)
    configs = [(n, w, 1) for n in args.encoders for w in widths] + [(n, 1024, 2) for n in args.encoders]
    rows = []
    print(f"{'encoder':12} {'H':>4} {'W':>5} {'N':>5} {'ms':>8} {'lines/s':>8} {'peak MB':>8} {'GFLOP/line':>10} "
          f"{'attn %':>6}")
    for name, width, factor in configs:
        row = run_one([name, width, factor, args.batch, reps]) | {"height_factor": factor}
        rows.append(row)
        print(f"{name:12} {row['height']:4} {width:5} {row['tokens']:5} {1000 * row['seconds']:8.1f} "
              f"{row['lines_per_s']:8.1f} {row['peak_mb']:8.1f} {row['gflops_per_line']:10.3f} "
              f"{100 * row['attention_share']:6.1f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.plot:
        plot(rows, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count()))
    main()
