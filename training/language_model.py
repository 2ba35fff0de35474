"""`vitocr lm`: count an n-gram model of the text a model will read, and write a copy of the model folder with it.

The text comes from plain .txt files (each line a line of the documents, ideally broken where they break), from
transcribed line sets (gt folders, manifests, PAGE/ALTO: only their text is read), or from a recipe's training lines
(`--recipe`: the real lines `vitocr train` trains on with it, its held-out lines left out, so that evaluating on them
stays fair).
"""
import json
import shutil
import unicodedata
from pathlib import Path
from typing import List

from ocr.charlm import FILE as LM_FILE, NgramLM
from ocr.checkpoint import atomic_folder, load_model
from ocr.errors import VitocrError

from .readers import read_sources


def corpus_lines(paths, recipe=None, log=print) -> List[str]:
    """Every line of text in `paths` and the training lines of `recipe`; problems are reported and skipped."""
    texts, sets, problems = [], [], []
    for path in map(Path, paths):
        if path.is_file() and path.suffix.lower() == ".txt" and not path.name.endswith(".gt.txt"):
            try:
                texts += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            except UnicodeDecodeError:
                problems.append(f"{path}: not UTF-8 text; re-save it as UTF-8.")
        else:
            sets.append(path)
    if sets:
        result = read_sources(sets)
        texts += [s.text for s in result.samples]
        problems += result.problems
    if recipe:
        from .config import TrainConfig, load_recipe
        from .setup import real_lines

        texts += [s.text for s in real_lines(TrainConfig(**load_recipe(recipe)))[0]]
    for p in problems[:5]:
        log(f"skipped: {p}")
    if len(problems) > 5:
        log(f"skipped: {len(problems) - 5} more problem(s) (`vitocr data check` lists them)")
    return [unicodedata.normalize("NFC", t) for t in texts]


def build_language_model(model, paths, output, recipe=None, order: int = 5, weight: float = 0.3, log=print):
    """Write the model folder `model` to `output` (replaced atomically; it may be `model` itself) with lm.json, an
    n-gram model of order `order` of the text, and `lm_weight` = `weight` in its config.json. Returns the model."""
    if order < 1:
        raise VitocrError(f"--order must be at least 1 (tokens of context + 1), got {order}.")
    if weight < 0:
        raise VitocrError(f"--weight cannot be negative, got {weight}.")
    model = Path(model)
    tokenizer = load_model(model)[1]  # also checks that it is a model folder
    texts = corpus_lines(paths, recipe, log)
    if not texts:
        raise VitocrError(f"no text to count in {', '.join(map(str, paths)) or recipe}; give .txt files or "
                          "transcribed line sets.")
    unknown = sorted({c for t in texts for c in tokenizer.unknown_characters(t)})
    if unknown:
        log(f"the model cannot write {len(unknown)} character(s) of the text ({''.join(unknown[:20])!r}): they "
            "count as one unknown token")
    lm = NgramLM.build(tokenizer.encode_batch(texts), tokenizer.tokens, order)
    with atomic_folder(output) as tmp:
        for f in model.iterdir():
            if f.is_file() and f.name != LM_FILE:
                shutil.copy2(f, tmp / f.name)
        config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
        config["lm_weight"] = weight
        (tmp / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        lm.save(tmp / LM_FILE)
    log(f"wrote {output}: a {order}-gram model of {len(texts)} lines ({sum(map(len, texts))} characters), "
        f"{LM_FILE} {(Path(output) / LM_FILE).stat().st_size / 1e6:.1f} MB, lm_weight {weight:g}")
    return lm
