"""Text normalisation and OCR error metrics (CER, WER, line accuracy, confusions).

All edit distances come from rapidfuzz's Levenshtein (unit cost insert/delete/substitute).
Rates are corpus-level: total edits / total reference length, never a mean of line rates,
so long lines weigh more than short ones. An empty reference total counts as length 1,
so an empty corpus scores 0.0 and hypotheses against empty references score their edit count.
"""

from __future__ import annotations

import collections
import re
import unicodedata
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from rapidfuzz.distance import Levenshtein

UNICODE_FORMS = ("NFC", "NFKC", "NFD", "NFKD")
EVALUATE_METRICS_DIR = Path(__file__).parent / "evaluate_metrics"
MAPPINGS_DIR = Path(__file__).parent / "mappings"


def normalize(
    text: str,
    form: str | None = "NFC",
    casefold: bool = False,
    collapse_whitespace: bool = False,
    remove_punctuation: bool = False,
    mapping: Mapping[str, str] | None = None,
) -> str:
    """Return `text` normalised; steps run in this order:

    1. Unicode normalisation `form` (NFC/NFKC/NFD/NFKD, or None to skip).
    2. `mapping`: substring -> replacement, in one left-to-right pass, longest source first,
       so replacements never feed each other. Sources are put in `form` too so they match.
    3. `casefold` (str.casefold: "Straße" -> "strasse").
    4. `remove_punctuation`: drop Unicode category P* characters (no space is inserted).
    5. `collapse_whitespace`: runs of whitespace become one space; ends are stripped.
    """
    if form is not None and form not in UNICODE_FORMS:
        raise ValueError(f"form must be one of {UNICODE_FORMS} or None, got {form!r}")
    if form:
        text = unicodedata.normalize(form, text)
    if mapping:
        text = _apply_mapping(text, mapping, form)
    if casefold:
        text = text.casefold()
    if remove_punctuation:
        text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    if collapse_whitespace:
        text = " ".join(text.split())
    return text


def _apply_mapping(text: str, mapping: Mapping[str, str], form: str | None) -> str:
    def in_form(s: str) -> str:
        return unicodedata.normalize(form, s) if form else s

    rules = {in_form(src): dst for src, dst in mapping.items()}
    if "" in rules:
        raise ValueError("mapping has an empty source string; every rule needs a source")
    pattern = re.compile("|".join(re.escape(src) for src in sorted(rules, key=len, reverse=True)))
    # Replacements can create sequences that are no longer in `form`; re-normalise.
    return in_form(pattern.sub(lambda m: rules[m.group(0)], text))


def bundled_mappings() -> list[str]:
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.tsv"))


def load_mapping(path: str | Path) -> dict[str, str]:
    """Read a mapping file, or a bundled one by name (`bundled_mappings()`): UTF-8, one `source<TAB>target` rule per
    line (target may be empty).

    Lines starting with '#' are comments (so a source cannot start with '#'); blank lines
    are ignored. Spaces are significant. A missing file, malformed lines and duplicate sources
    raise ValueError naming the file (and line).
    """
    bundled = MAPPINGS_DIR / f"{path}.tsv"
    if not Path(path).exists() and str(path) in bundled_mappings():
        path = bundled
    if not Path(path).is_file():
        raise ValueError(f"{path}: no such mapping file, nor a bundled mapping ({', '.join(bundled_mappings())}); "
                         "give a UTF-8 file of 'source<TAB>target' lines")
    data = Path(path).read_bytes().removeprefix(b"\xef\xbb\xbf")  # tolerate a BOM
    mapping: dict[str, str] = {}
    defined_at: dict[str, int] = {}
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise ValueError(f"{path}:{lineno}: not valid UTF-8; re-save the file as UTF-8") from None
        if line.startswith("#") or (not line.strip() and "\t" not in line):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0]:
            raise ValueError(
                f"{path}:{lineno}: expected 'source<TAB>target' (exactly one tab, non-empty "
                f"source, target may be empty), got {line!r}; fix the line or start it with "
                f"'#' to comment it out"
            )
        source, target = parts
        if source in mapping:
            raise ValueError(
                f"{path}:{lineno}: source {source!r} is already mapped on line "
                f"{defined_at[source]}; keep only one of the two rules"
            )
        mapping[source] = target
        defined_at[source] = lineno
    return mapping


def char_errors(ref: str, hyp: str) -> int:
    """Character edit distance between one reference and one hypothesis."""
    return Levenshtein.distance(ref, hyp)


def word_errors(ref: str, hyp: str) -> int:
    """Word edit distance; words are whitespace-separated tokens."""
    return Levenshtein.distance(ref.split(), hyp.split())


def _check_pairs(refs: Sequence[str], hyps: Sequence[str]) -> None:
    # A bare string would be iterated character by character and give a wrong rate silently.
    if isinstance(refs, str) or isinstance(hyps, str):
        raise TypeError("refs and hyps must be lists of lines; for one line use cer([ref], [hyp])")
    if len(refs) != len(hyps):
        raise ValueError(f"got {len(refs)} references but {len(hyps)} hypotheses")


def cer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Corpus character error rate: sum of char edits / max(sum of ref chars, 1)."""
    _check_pairs(refs, hyps)
    edits = sum(char_errors(r, h) for r, h in zip(refs, hyps))
    return edits / max(sum(len(r) for r in refs), 1)


def wer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Corpus word error rate: sum of word edits / max(sum of ref words, 1)."""
    _check_pairs(refs, hyps)
    edits = sum(word_errors(r, h) for r, h in zip(refs, hyps))
    return edits / max(sum(len(r.split()) for r in refs), 1)


@dataclass
class ErrorCounts:
    """Running totals for corpus-level rates; add lines one by one, merge shards with `+`."""

    char_edits: int = 0
    ref_chars: int = 0
    word_edits: int = 0
    ref_words: int = 0
    lines: int = 0
    exact_lines: int = 0

    def add(self, ref: str, hyp: str) -> None:
        self.char_edits += char_errors(ref, hyp)
        self.ref_chars += len(ref)
        self.word_edits += word_errors(ref, hyp)
        self.ref_words += len(ref.split())
        self.lines += 1
        self.exact_lines += ref == hyp

    @property
    def cer(self) -> float:
        return self.char_edits / max(self.ref_chars, 1)

    @property
    def wer(self) -> float:
        return self.word_edits / max(self.ref_words, 1)

    @property
    def line_accuracy(self) -> float:
        """Share of lines where hypothesis == reference exactly (0.0 when no lines)."""
        return self.exact_lines / max(self.lines, 1)

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        if not isinstance(other, ErrorCounts):
            return NotImplemented
        return ErrorCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __radd__(self, other: object) -> ErrorCounts:
        # Lets sum(list_of_counts) work: sum() starts from 0.
        if other == 0:
            return self + ErrorCounts()
        return NotImplemented


def confusions(refs: Iterable[str], hyps: Iterable[str]) -> collections.Counter:
    """Count (ref_char, hyp_char) substitutions, (ref_char, "") deletions, ("", hyp_char) insertions.

    Uses the single alignment rapidfuzz's editops picks when several are optimal.
    """
    if isinstance(refs, str) or isinstance(hyps, str):
        _check_pairs(refs, hyps)  # raises the TypeError
    refs, hyps = list(refs), list(hyps)
    _check_pairs(refs, hyps)
    counts: collections.Counter = collections.Counter()
    for ref, hyp in zip(refs, hyps):
        for op in Levenshtein.editops(ref, hyp):
            if op.tag == "replace":
                counts[ref[op.src_pos], hyp[op.dest_pos]] += 1
            elif op.tag == "delete":
                counts[ref[op.src_pos], ""] += 1
            else:  # insert
                counts["", hyp[op.dest_pos]] += 1
    return counts


def evaluate_module(name: str, **load_kwargs):
    """Load the bundled Hugging Face `evaluate` metric "cer" or "wer" from disk (no network).

    `load_kwargs` go to `evaluate.load` (e.g. keep_in_memory=True, cache_dir=...).
    `compute(predictions=..., references=...)` returns {"cer": float} or {"wer": float}.
    """
    if name not in ("cer", "wer"):
        raise ValueError(f"name must be 'cer' or 'wer', got {name!r}")
    import evaluate  # heavy import, only needed here

    return evaluate.load(str(EVALUATE_METRICS_DIR / name), **load_kwargs)
