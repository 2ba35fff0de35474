"""curves.svg beside a run's log.csv: its training loss and validation CER against the step, redrawn at every
validation, so a run in progress can be looked at in any browser (no plotting library needed)."""
import csv
import math
from pathlib import Path
from typing import Dict, List, Tuple

from ocr.atomic import write_atomic

Series = List[Tuple[int, float]]  # (step, value)

# panel, log.csv name, legend, colour
LINES = [
    ("loss", "loss", "training loss (mean of 10 logs)", "#1f77b4"),
    ("cer", "val_cer", "validation CER", "#d62728"),
    ("cer", "val_ctc_cer", "validation CER, CTC head", "#ff7f0e"),
    ("cer", "val_attention_cer", "validation CER, decoder", "#2ca02c"),
]
TITLES = {"loss": "training loss", "cer": "validation CER (%)"}
WIDTH, HEIGHT = 380, 260  # one panel
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 30, 74  # margins inside it: axis labels, title, legend


def read_log(path) -> Dict[str, Series]:
    """log.csv rows (step, name, value) -> {name: [(step, value)]} in step order."""
    series: Dict[str, Series] = {}
    with Path(path).open(newline="") as f:
        for row in csv.DictReader(f):
            value = float(row["value"])
            if math.isfinite(value):
                series.setdefault(row["name"], []).append((int(row["step"]), value))
    return {name: sorted(points) for name, points in series.items()}


def running_mean(points: Series, window: int = 10) -> Series:
    return [(step, sum(v for _, v in points[max(0, i + 1 - window):i + 1]) / min(window, i + 1))
            for i, (step, _) in enumerate(points)]


def nice_step(span: float, ticks: int = 4) -> float:
    """A round tick spacing (1, 2 or 5 x 10^k) giving about `ticks` intervals over `span`."""
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def axis(top: float) -> Tuple[float, float]:
    """(tick spacing, axis end): the axis runs from 0 to the first tick at or above `top` (1 when `top` is 0)."""
    step = nice_step(top or 1)
    return step, math.ceil((top or 1) / step) * step


def panel(x0: int, title: str, lines: List[Tuple[str, str, Series]], last_step: int) -> List[str]:
    """SVG elements of one panel at x offset x0: axes from 0, ticks, one polyline per series, a legend."""
    (y_step, y_max), (x_step, x_max) = axis(max(v for _, _, points in lines for _, v in points)), axis(last_step)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(step, value):
        return x0 + LEFT + plot_w * step / x_max, TOP + plot_h * (1 - value / y_max)

    out = [f'<text x="{x0 + LEFT}" y="18" font-weight="bold">{title}</text>',
           f'<rect x="{x0 + LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>']
    for i in range(round(y_max / y_step) + 1):
        x, y = xy(0, i * y_step)
        out.append(f'<text x="{x - 4}" y="{y + 4:.1f}" text-anchor="end">{i * y_step:.4g}</text>')
    for i in range(round(x_max / x_step) + 1):
        x, y = xy(i * x_step, 0)
        out.append(f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle">{i * x_step:.4g}</text>')
    out.append(f'<text x="{x0 + LEFT + plot_w / 2}" y="{TOP + plot_h + 32}" text-anchor="middle">step</text>')
    for k, (label, colour, points) in enumerate(lines):
        coordinates = " ".join("{:.1f},{:.1f}".format(*xy(s, v)) for s, v in points)
        out.append(f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        if len(points) == 1:  # one validation so far: a dot, as a polyline of one point draws nothing
            out.append('<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"/>'.format(*xy(*points[0]), colour))
        y = TOP + plot_h + 46 + 13 * k
        out.append(f'<line x1="{x0 + LEFT}" y1="{y - 4}" x2="{x0 + LEFT + 16}" y2="{y - 4}" stroke="{colour}" '
                   f'stroke-width="2"/><text x="{x0 + LEFT + 22}" y="{y}">{label}</text>')
    return out


def curves_svg(log: Dict[str, Series]) -> str:
    """The SVG of `read_log`'s series: a loss panel and a CER panel (CER in percent), either left out when empty."""
    last_step = max((s for points in log.values() for s, _ in points), default=0)
    panels = {}
    for name, key, label, colour in LINES:
        points = log.get(key, [])
        if points:
            points = running_mean(points) if name == "loss" else [(s, 100 * v) for s, v in points]
            panels.setdefault(name, []).append((label, colour, points))
    elements = []
    for i, (name, lines) in enumerate(panels.items()):
        elements += panel(i * WIDTH, TITLES[name], lines, last_step)
    width = WIDTH * max(1, len(panels))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" font-family="sans-serif" '
            f'font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(elements) + "\n</svg>\n")


def write_curves(folder) -> Path:
    """Redraw `folder`/curves.svg from `folder`/log.csv (atomically: a browser never reads half of it)."""
    folder = Path(folder)
    return write_atomic(folder / "curves.svg", curves_svg(read_log(folder / "log.csv")))
