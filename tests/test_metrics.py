"""Hand-checked examples for ocr.metrics and the bundled evaluate modules."""

import collections
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ocr.metrics import (
    ErrorCounts,
    cer,
    char_errors,
    confusions,
    evaluate_module,
    load_mapping,
    normalize,
    wer,
    word_errors,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


# --- edit distances and rates -------------------------------------------------


def test_kitten_sitting():
    # k->s, e->i, +g
    assert char_errors("kitten", "sitting") == 3
    assert cer(["kitten"], ["sitting"]) == 3 / 6
    # The reference length is the denominator, so swapping the arguments changes the rate.
    assert cer(["sitting"], ["kitten"]) == 3 / 7


def test_word_errors_and_wer():
    assert word_errors("the cat sat", "the cat sat down") == 1
    assert wer(["the cat sat"], ["the bat sat down"]) == 2 / 3
    # Words are whitespace-split, so spacing differences cost characters, not words.
    assert word_errors("a  b", "a b") == 0
    assert char_errors("a  b", "a b") == 1


def test_corpus_rate_is_not_mean_of_line_rates():
    refs, hyps = ["a", "abcdefghij"], ["b", "abcdefghij"]
    line_rates = [cer([r], [h]) for r, h in zip(refs, hyps)]
    assert line_rates == [1.0, 0.0]  # their mean would be 0.5
    assert cer(refs, hyps) == 1 / 11
    assert wer(["a", "b c d"], ["x", "b c d"]) == 1 / 4


def test_empty_references_count_as_length_one():
    assert cer([], []) == 0.0
    assert cer([""], [""]) == 0.0
    assert cer([""], ["abc"]) == 3.0
    assert wer([""], ["a b"]) == 2.0
    assert wer([], []) == 0.0


def test_rates_reject_bare_strings_and_unequal_lengths():
    with pytest.raises(TypeError, match=r"cer\(\[ref\], \[hyp\]\)"):
        cer("kitten", "sitting")
    with pytest.raises(TypeError):
        confusions("kitten", "sitting")
    with pytest.raises(ValueError, match="got 2 references but 1 hypotheses"):
        wer(["a", "b"], ["a"])


# --- ErrorCounts --------------------------------------------------------------


def test_error_counts_accumulates():
    counts = ErrorCounts()
    counts.add("kitten", "sitting")
    counts.add("the cat", "the cat")
    assert counts == ErrorCounts(
        char_edits=3, ref_chars=13, word_edits=1, ref_words=3, lines=2, exact_lines=1
    )
    assert counts.cer == 3 / 13
    assert counts.wer == 1 / 3
    assert counts.line_accuracy == 0.5
    assert counts.cer == cer(["kitten", "the cat"], ["sitting", "the cat"])
    assert counts.wer == wer(["kitten", "the cat"], ["sitting", "the cat"])


def test_error_counts_merge():
    a, b = ErrorCounts(), ErrorCounts()
    a.add("kitten", "sitting")
    b.add("the cat", "the cat")
    both = ErrorCounts()
    both.add("kitten", "sitting")
    both.add("the cat", "the cat")
    assert a + b == both
    assert sum([a, b]) == both
    assert a == ErrorCounts(3, 6, 1, 1, 1, 0)  # merging left the operands alone


def test_empty_error_counts():
    assert (ErrorCounts().cer, ErrorCounts().wer, ErrorCounts().line_accuracy) == (0.0, 0.0, 0.0)


# --- confusions ---------------------------------------------------------------


def test_confusions_exact_counter():
    got = confusions(["kitten", "ab", "abc", "aa"], ["sitting", "axb", "ac", "bb"])
    assert got == collections.Counter(
        {("k", "s"): 1, ("e", "i"): 1, ("", "g"): 1, ("", "x"): 1, ("b", ""): 1, ("a", "b"): 2}
    )
    assert confusions(["same"], ["same"]) == collections.Counter()


# --- normalisation ------------------------------------------------------------


def test_unicode_forms():
    decomposed, composed = "e\u0301", "\u00e9"
    assert normalize(decomposed) == composed  # NFC is the default
    assert normalize(composed, form="NFD") == decomposed
    assert normalize(decomposed, form=None) == decomposed
    assert normalize("\ufb01x\u00b2", form="NFC") == "\ufb01x\u00b2"  # ligature fi, superscript 2
    assert normalize("\ufb01x\u00b2", form="NFKC") == "fix2"
    assert normalize("\ufb01", form="NFKD") == "fi"
    with pytest.raises(ValueError, match="form must be one of"):
        normalize("a", form="nfc")


def test_casefold():
    assert normalize("Straße ÉCOLE", casefold=True) == "strasse école"
    assert normalize("Straße") == "Straße"


def test_collapse_whitespace():
    assert normalize("  a \t b\n c  ", collapse_whitespace=True) == "a b c"
    assert normalize("a\u00a0\u00a0b", collapse_whitespace=True) == "a b"  # no-break spaces


def test_remove_punctuation():
    text = "Hello, world! «Yes» — well-known."
    # Punctuation is dropped, not replaced by a space; symbols (category S) stay.
    assert normalize(text, remove_punctuation=True) == "Hello world Yes  wellknown"
    assert normalize(text, remove_punctuation=True, collapse_whitespace=True) == "Hello world Yes wellknown"
    assert normalize("€5+3=8", remove_punctuation=True) == "€5+3=8"


def test_mapping():
    assert normalize("Ver¬such", mapping={"¬": ""}) == "Versuch"
    # One pass: replacements are not fed to other rules.
    assert normalize("ab", mapping={"a": "b", "b": "c"}) == "bc"
    # The longest source wins where rules overlap.
    assert normalize("chic", mapping={"c": "k", "ch": "x"}) == "xik"
    # Sources are brought into the same Unicode form as the text.
    assert normalize("caf\u00e9", mapping={"e\u0301": "e"}) == "cafe"
    # Mapping runs before casefold, so it sees the original case.
    assert normalize("Aa", casefold=True, mapping={"A": "X"}) == "xa"
    with pytest.raises(ValueError, match="empty source"):
        normalize("a", mapping={"": "x"})


# --- mapping files ------------------------------------------------------------


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_load_mapping(tmp_path):
    path = write(tmp_path / "rules.tsv", "# historic glyphs\nſ\ts\n¬\t\n\n   \nꝛ\tr\n ,\t,\n")
    assert load_mapping(path) == {"ſ": "s", "¬": "", "ꝛ": "r", " ,": ","}
    assert normalize("Wiſſen¬ ,ꝛ", mapping=load_mapping(path)) == "Wissen,r"


def test_load_mapping_tolerates_bom_and_crlf(tmp_path):
    path = write(tmp_path / "rules.tsv", "\ufeffſ\ts\r\n¬\t\r\n")
    assert load_mapping(path) == {"ſ": "s", "¬": ""}


def test_load_mapping_malformed_line_names_file_and_line(tmp_path):
    path = write(tmp_path / "rules.tsv", "# comment\nſ\ts\nꝛ r\n")
    with pytest.raises(ValueError) as err:
        load_mapping(path)
    assert str(err.value) == (
        f"{path}:3: expected 'source<TAB>target' (exactly one tab, non-empty source, "
        "target may be empty), got 'ꝛ r'; fix the line or start it with '#' to comment it out"
    )


@pytest.mark.parametrize("bad_line", ["a\tb\tc", "\tb", "\t"])
def test_load_mapping_rejects_extra_tabs_and_empty_source(tmp_path, bad_line):
    path = write(tmp_path / "rules.tsv", f"ſ\ts\n{bad_line}\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}:2: expected 'source<TAB>target'")):
        load_mapping(path)


def test_load_mapping_duplicate_source(tmp_path):
    path = write(tmp_path / "rules.tsv", "ſ\ts\n¬\t\nſ\tf\n")
    with pytest.raises(ValueError) as err:
        load_mapping(path)
    assert str(err.value) == f"{path}:3: source 'ſ' is already mapped on line 1; keep only one of the two rules"


def test_load_mapping_not_utf8(tmp_path):
    path = write(tmp_path / "rules.tsv", "ſ\ts\n¬\t\n".encode("utf-8") + "é\te\n".encode("latin-1"))
    with pytest.raises(ValueError) as err:
        load_mapping(path)
    assert str(err.value) == f"{path}:3: not valid UTF-8; re-save the file as UTF-8"


def test_bundled_typographic_mapping_by_name():
    m = load_mapping("typographic")
    assert normalize("\u201c\u2018Him\u2019?\u201d didn\u2019t\u2014no\u2026", mapping=m) == "\"'Him'?\" didn't-no..."
    assert cer(["It\u2019s \u201cso\u201d"], ["It's \"so\""]) > 0  # without the mapping the variants count


def test_load_mapping_missing_file_names_it_and_the_bundled_ones(tmp_path):
    with pytest.raises(ValueError) as err:
        load_mapping(tmp_path / "nope.tsv")
    assert str(err.value) == (f"{tmp_path / 'nope.tsv'}: no such mapping file, nor a bundled mapping (typographic); "
                              "give a UTF-8 file of 'source<TAB>target' lines")


# --- Hugging Face evaluate modules --------------------------------------------

EXAMPLES = [
    (["kitten"], ["sitting"]),
    (["sitting"], ["kitten"]),
    (["a", "abcdefghij"], ["b", "abcdefghij"]),
    (["the cat sat", "on the mat"], ["the bat sat down", "on mat"]),
    ([""], ["abc"]),
]


@pytest.fixture(scope="module")
def hf_metrics():
    pytest.importorskip("evaluate")
    return {name: evaluate_module(name, keep_in_memory=True) for name in ("cer", "wer")}


@pytest.mark.parametrize("refs, hyps", EXAMPLES)
def test_evaluate_modules_match_ocr_metrics(hf_metrics, refs, hyps):
    assert hf_metrics["cer"].compute(predictions=hyps, references=refs) == {"cer": cer(refs, hyps)}
    assert hf_metrics["wer"].compute(predictions=hyps, references=refs) == {"wer": wer(refs, hyps)}


def test_evaluate_module_kitten(hf_metrics):
    assert hf_metrics["cer"].compute(predictions=["sitting"], references=["kitten"]) == {"cer": 0.5}
    assert hf_metrics["wer"].compute(predictions=["the bat sat down"], references=["the cat sat"]) == {"wer": 2 / 3}


def test_evaluate_module_unknown_name():
    with pytest.raises(ValueError, match="'cer' or 'wer'"):
        evaluate_module("bleu")


OFFLINE_SCRIPT = """
import json, socket, sys
def no_network(*args, **kwargs):
    raise RuntimeError("network access attempted")
socket.socket.connect = no_network
import evaluate
from ocr.metrics import EVALUATE_METRICS_DIR
scores = {}
for name in ("cer", "wer"):
    metric = evaluate.load(str(EVALUATE_METRICS_DIR / name))
    scores.update(metric.compute(predictions=["sitting", "on mat"], references=["kitten", "on the mat"]))
print(json.dumps(scores))
"""


def test_evaluate_load_by_path_offline_with_fresh_cache(tmp_path):
    pytest.importorskip("evaluate")
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_HOME=str(tmp_path / "hf_home"),
        HF_MODULES_CACHE=str(tmp_path / "hf_modules"),
        PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert scores == {"cer": 7 / 16, "wer": 2 / 4}
    # evaluate ran a copy of the script from the fresh modules cache, not the repo file.
    assert list((tmp_path / "hf_modules").rglob("cer.py"))
