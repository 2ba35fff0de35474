"""Word error rate as a Hugging Face `evaluate` metric, backed by ocr.metrics.wer.

Loaded from disk, never from the Hub: `ocr.metrics.evaluate_module("wer")`
or `evaluate.load("<path to this folder>")`. evaluate copies only this file into its
modules cache, so `ocr` must be importable (installed or on sys.path) where it runs.
"""

# Subclass via `evaluate.Metric`, not `from evaluate import Metric`: evaluate picks the
# first non-abstract EvaluationModule subclass in this module's namespace, and
# Metric itself would qualify.
import datasets
import evaluate

# The From: comment makes evaluate suggest the right package when `ocr` is missing.
from ocr.metrics import wer  # From: vitocr[eval]

_DESCRIPTION = """\
Corpus-level WER: total word edits (Levenshtein) / total reference words, summed over
all pairs rather than averaged per line. Empty references count as length 1 in total.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of str, OCR output lines.
    references: list of str, ground-truth lines, same length as predictions.
Returns:
    {"wer": float}; 0.0 is perfect, can exceed 1.0 when there are many insertions.
Example:
    >>> metric = ocr.metrics.evaluate_module("wer")
    >>> metric.compute(predictions=["sitting"], references=["kitten"])["wer"]
    1.0
"""


class Wer(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string", id="sequence"),
                    "references": datasets.Value("string", id="sequence"),
                }
            ),
        )

    def _compute(self, predictions, references):
        return {"wer": wer(references, predictions)}
