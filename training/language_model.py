"""`vitocr lm`: count an n-gram model of the text a model will read, and write a copy of the model folder with it.

The text comes from plain .txt files (each line a line of the documents, ideally broken where they break), from
transcribed line sets (gt folders, manifests, PAGE/ALTO: only their text is read), or from a recipe's training lines
(`--recipe`: the real lines `vitocr train` trains on with it, its held-out lines left out, so that evaluating on them
stays fair). A background (`--background`: other .txt files or line sets, or `english`, a built-in model of English
words) is counted apart and mixed in with a small share: it knows words the documents' own text never used.
"""
import json
import random
import re
import shutil
import unicodedata
from pathlib import Path
from typing import List

from ocr.charlm import FILE as LM_FILE, MixedLM, NgramLM
from ocr.checkpoint import atomic_folder, load_model
from ocr.errors import VitocrError

from .readers import read_sources

ENGLISH = "english"  # the built-in background: words drawn by their frequency in English (wordfreq)
WORD = re.compile(r"[a-z]+(?:['-][a-z]+)*")
ENGLISH_WORDS = 300_000  # drawn, 9 to a line, one in ten capitalised; 1,000,000 lowered held-out letters' entropy 0.01


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


def english_lines(words: int = ENGLISH_WORDS, seed: int = 0) -> List[str]:
    """Lines of English words drawn by their frequency in wordfreq's lists (the words of its 100,000 commonest
    entries): English spelling and the odds of its words, without the word order of any one text."""
    try:
        import wordfreq
    except ImportError:
        raise VitocrError("--background english needs the wordfreq package: pip install wordfreq (or vitocr[train]).")
    vocabulary = [w for w in wordfreq.top_n_list("en", 100_000) if WORD.fullmatch(w)]  # no symbols, no numbers
    rng = random.Random(seed)
    drawn = rng.choices(vocabulary, [wordfreq.word_frequency(w, "en") for w in vocabulary], k=words)
    drawn = [w.capitalize() if rng.random() < 0.1 else w for w in drawn]
    return [" ".join(drawn[i:i + 9]) for i in range(0, len(drawn), 9)]


def build_language_model(model, paths, output, recipe=None, order: int = 5, weight: float = 0.3, background=(),
                         background_share: float = 0.3, log=print):
    """Write the model folder `model` to `output` (replaced atomically; it may be `model` itself) with lm.json, an
    n-gram model of order `order` of the text, and `lm_weight` = `weight` in its config.json. With `background`
    (.txt files or line sets, or `english`), lm.json mixes in a model of that text with `background_share`. Returns
    the language model."""
    if order < 1:
        raise VitocrError(f"--order must be at least 1 (tokens of context + 1), got {order}.")
    if weight < 0:
        raise VitocrError(f"--weight cannot be negative, got {weight}.")
    if background and not 0 < background_share < 1:
        raise VitocrError(f"--background-share is the background's part of the mixture, between 0 and 1 (both "
                          f"excluded), got {background_share}.")
    model = Path(model)
    tokenizer = load_model(model)[1]  # also checks that it is a model folder
    texts = corpus_lines(paths, recipe, log)
    if not texts:
        raise VitocrError(f"no text to count in {', '.join(map(str, paths)) or recipe}; give .txt files or "
                          "transcribed line sets.")
    lm = count_ngrams(tokenizer, texts, order, log)
    summary = f"a {order}-gram model of {len(texts)} lines ({sum(map(len, texts))} characters)"
    if background:
        other = [p for p in background if p != ENGLISH]
        back = (english_lines() if ENGLISH in background else []) + (corpus_lines(other, log=log) if other else [])
        if not back:
            raise VitocrError(f"no text to count in the background {', '.join(map(str, background))}.")
        lm = MixedLM([(1 - background_share, lm), (background_share, count_ngrams(tokenizer, back, order, log))])
        summary += f", {1 - background_share:g} of a mixture with one of {len(back)} background lines"
    with atomic_folder(output) as tmp:
        for f in model.iterdir():
            if f.is_file() and f.name != LM_FILE:
                shutil.copy2(f, tmp / f.name)
        config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
        config["lm_weight"] = weight
        (tmp / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        lm.save(tmp / LM_FILE)
    log(f"wrote {output}: {summary}, {LM_FILE} {(Path(output) / LM_FILE).stat().st_size / 1e6:.1f} MB, "
        f"lm_weight {weight:g}")
    return lm


def count_ngrams(tokenizer, texts: List[str], order: int, log=print) -> NgramLM:
    unknown = sorted({c for t in texts for c in tokenizer.unknown_characters(t)})
    if unknown:
        log(f"the model cannot write {len(unknown)} character(s) of the text ({''.join(unknown[:20])!r}): they "
            "count as one unknown token")
    return NgramLM.build(tokenizer.encode_batch(texts), tokenizer.tokens, order)
