"""The bundled models read the real lines their recipes held out as well as their model cards say.

Real data: the recipes name ../shared/data beside the repository; without it these tests skip.
"""
from functools import partial
from pathlib import Path

import pytest

from ocr.eval_command import load_lines
from ocr.evaluation import evaluate_recognizer
from ocr.metrics import normalize
from ocr.pipeline import load_recognizer
from training.setup import held_out_lines

ROOT = Path(__file__).resolve().parents[1]

# model, the recipe whose run held the lines out, its data folders, lines read, highest CER: the model card's figure
# on all held-out lines plus room for the subset read here
CARDS = [
    ("printed", "training/recipes/printed-paged.yaml", ("fondue-en-print-20", "ajmc-en-commentaries"), 194,
     0.008),  # card: 0.72 % (its default: 2 beams and its language model)
    ("handwritten", "training/recipes/handwritten-stage4.yaml", ("hooker-hw-train",), 100,
     0.18),  # card: 16.84 %, these 100: 14.64 % (8 beams, 2 views; 4 beams, 1: 18.69 %)
]


@pytest.mark.parametrize("model, recipe, data, lines, ceiling", CARDS, ids=[c[0] for c in CARDS])
def test_a_bundled_model_reads_its_held_out_lines_as_its_card_says(model, recipe, data, lines, ceiling, monkeypatch):
    for folder in data:
        if not (ROOT.parent / "shared" / "data" / folder).is_dir():
            pytest.skip(f"real data {folder} not found beside the repository")
    monkeypatch.chdir(ROOT)  # recipes name their data relative to the repository
    images, texts, names, problems = load_lines(held_out_lines(recipe), lines)
    assert not problems and len(texts) == lines
    recognizer = load_recognizer(model, device="cpu")
    report = evaluate_recognizer(recognizer, images, texts, names, normalise=partial(normalize, collapse_whitespace=True))
    assert report.counts.cer <= ceiling
    # on a page, no real line may be taken for noise and dropped
    assert min(row.confidence for row in report.rows) >= recognizer.model.config.min_confidence


# every stage of a bundled model must hold out the lines its first real-data stage held out, or a later stage trains
# on lines an earlier card reported as unseen
LINEAGES = [
    ("fondue-en-print-20", ["printed.yaml", "printed-stage3.yaml", "printed-stage4.yaml", "printed-stage5.yaml",
                            "printed-stage6.yaml", "printed-stage7.yaml", "printed-stage8.yaml"]),
    ("hooker-hw-train", ["handwritten.yaml", "handwritten-stage2.yaml", "handwritten-stage3.yaml",
                         "handwritten-stage4.yaml", "handwritten-stage5.yaml", "handwritten-stage6.yaml",
                         "handwritten-stage7.yaml", "handwritten-stage8.yaml", "handwritten-stage9.yaml",
                         "handwritten-stage10.yaml", "handwritten-stage11.yaml",
                         "handwritten-stage12.yaml", "handwritten-stage13.yaml"]),
    ("ajmc-en-commentaries", ["printed-paged.yaml", "printed-paged-degraded.yaml", "printed-paged-stage3.yaml",
                              "printed-paged-stage4.yaml", "printed-paged-stage5.yaml"]),
]


@pytest.mark.parametrize("data, recipes", LINEAGES, ids=["printed", "handwritten", "printed-paged"])
def test_every_stage_of_a_bundled_model_holds_out_the_same_lines(data, recipes, monkeypatch):
    if not (ROOT.parent / "shared" / "data" / data).is_dir():
        pytest.skip(f"real data {data} not found beside the repository")
    monkeypatch.chdir(ROOT)
    held = [sorted(s.image for s in held_out_lines(f"training/recipes/{r}")) for r in recipes]
    assert held[0] and all(h == held[0] for h in held[1:])
