"""`vitocr data check`: what a training set holds and everything wrong with it, file by file."""
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import List, Optional

from PIL import Image
from tqdm.auto import tqdm

from ocr.errors import VitocrError

from .dataset import load_line
from .readers import read_sources


@dataclass
class DataReport:
    lines: int = 0
    groups: int = 0
    charset: Counter = field(default_factory=Counter)
    lengths: List[int] = field(default_factory=list)
    heights: List[int] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    outside_charset: Counter = field(default_factory=Counter)


def check_data(paths, tokenizer=None, verify_images: bool = True) -> DataReport:
    result = read_sources(paths)
    report = DataReport(lines=len(result.samples), problems=list(result.problems))
    report.groups = len({s.group for s in result.samples})
    for sample in tqdm(result.samples, desc="checking", unit="line", disable=not verify_images or len(result.samples) < 200):
        text = unicodedata.normalize("NFC", sample.text)
        report.charset.update(text)
        report.lengths.append(len(text))
        if tokenizer is not None:
            unknown = tokenizer.unknown_characters(text)
            if unknown:
                report.outside_charset.update(unknown)
                report.problems.append(f"{sample.image}: characters outside the model's charset: "
                                       f"{' '.join(sorted(unknown))} (training with --init-from adds them).")
        if sample.crop:
            report.heights.append(sample.crop[3] - sample.crop[1])
            continue
        try:
            if verify_images:
                report.heights.append(load_line(sample).height)
            else:
                with Image.open(sample.image) as im:
                    report.heights.append(im.height)
        except (VitocrError, OSError) as e:
            report.problems.append(str(e))
    return report


def histogram(values: List[int], bins: int = 8, width: int = 40) -> List[str]:
    """Text histogram lines: '  10-19  ████████  123'."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    step = max(1, -(-(hi - lo + 1) // bins))
    counts = Counter((v - lo) // step for v in values)
    top = max(counts.values())
    return [f"  {lo + b * step:>5}-{lo + (b + 1) * step - 1:<5} {'█' * max(1, round(width * counts[b] / top)):<{width}} "
            f"{counts[b]}" for b in range(max(counts) + 1) if counts[b]]


def format_report(report: DataReport, show: Optional[int] = 50) -> str:
    out = [f"{report.lines} lines in {report.groups} groups, {len(report.charset)} distinct characters, "
           f"{sum(report.lengths)} characters in all"]
    shown = "".join(sorted(report.charset)).replace("\n", "")
    out.append(f"charset: {shown}")
    rare = [c for c, n in report.charset.items() if n < 3]
    if rare:
        out.append(f"rare (< 3 uses): {' '.join(sorted(rare))}")
    out.append("text length (characters):")
    out += histogram(report.lengths)
    out.append("image height (pixels):")
    out += histogram(report.heights)
    if report.outside_charset:
        out.append(f"outside the model's charset: {' '.join(sorted(report.outside_charset))}")
    out.append(f"{len(report.problems)} problem(s)" + (":" if report.problems else ""))
    out += [f"  {p}" for p in report.problems[:show]]
    if show is not None and len(report.problems) > show:
        out.append(f"  ... and {len(report.problems) - show} more (--all to list them)")
    return "\n".join(out)
