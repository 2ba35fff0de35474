"""Evaluate a recogniser on transcribed lines: CER/WER, per-line rows, confusions, and how much confidence tells."""
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional

from .metrics import ErrorCounts, char_errors, confusions, normalize


@dataclass
class LineRow:
    image: str
    reference: str
    prediction: str
    cer: float
    confidence: float
    errors: int = 0
    flagged: bool = False  # confidence under the review threshold


@dataclass
class EvalReport:
    counts: ErrorCounts
    rows: List[LineRow]
    lines_per_second: float
    confusions: list  # [(reference char, predicted char, count)], most frequent first
    low_confidence_cer: Optional[float] = None  # CER of the least confident 10 % of lines
    rest_cer: Optional[float] = None  # CER of the other 90 %
    flagged: int = 0
    threshold: Optional[float] = None
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        out = {"lines": self.counts.lines, "cer": self.counts.cer, "wer": self.counts.wer,
               "line_accuracy": self.counts.line_accuracy, "lines_per_second": self.lines_per_second,
               "low_confidence_10pct_cer": self.low_confidence_cer, "rest_cer": self.rest_cer}
        if self.threshold is not None:
            out.update(threshold=self.threshold, flagged=self.flagged)
        return {**out, **self.extra}

    def worst_first(self) -> List[dict]:
        return [asdict(r) for r in sorted(self.rows, key=lambda r: (-r.cer, r.confidence))]


def confidence_split(rows: List[LineRow], share: float = 0.1):
    """CER of the least confident `share` of lines against the rest: a useful confidence makes the first higher."""
    if len(rows) < 2:
        return None, None
    ordered = sorted(rows, key=lambda r: r.confidence)
    k = max(1, round(len(rows) * share))

    def rate(part):
        return sum(r.errors for r in part) / max(1, sum(len(r.reference) for r in part))

    return rate(ordered[:k]), rate(ordered[k:])


def build_report(images: List[str], refs: List[str], preds: List[str], confs: List[float], seconds: float,
                 normalise: Callable[[str], str] = normalize, threshold: Optional[float] = None) -> EvalReport:
    refs_n, preds_n = [normalise(r) for r in refs], [normalise(p) for p in preds]
    counts, rows = ErrorCounts(), []
    for image, ref, pred, conf in zip(images, refs_n, preds_n, confs):
        counts.add(ref, pred)
        errors = char_errors(ref, pred)
        rows.append(LineRow(image, ref, pred, errors / max(len(ref), 1), conf, errors,
                            threshold is not None and conf < threshold))
    table = [(a, b, n) for (a, b), n in confusions(refs_n, preds_n).most_common()]
    low, rest = confidence_split(rows)
    return EvalReport(counts, rows, len(rows) / max(seconds, 1e-9), table, low, rest,
                      sum(r.flagged for r in rows), threshold)


def evaluate_recognizer(recognizer, images, refs: List[str], names: List[str], beams: Optional[int] = None,
                        batch_size: int = 16, normalise: Callable[[str], str] = normalize,
                        threshold: Optional[float] = None, progress=None) -> EvalReport:
    start = time.perf_counter()
    results = recognizer.recognize(images, beams=beams, batch_size=batch_size, progress=progress)
    seconds = time.perf_counter() - start
    return build_report(names, refs, [r.text for r in results], [r.confidence for r in results], seconds,
                        normalise, threshold)
