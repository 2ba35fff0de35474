"""Synthetic training lines: text sampling, font discovery, rendering, dataset."""

import hashlib
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import corpus, fonts, synthetic

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def fonts_by_style():
    return {style: fonts.find_fonts(style) for style in fonts.STYLES}


@pytest.fixture(scope="module")
def print_font(fonts_by_style):
    if not fonts_by_style["print"]:
        pytest.skip("no print fonts installed (run training/install-fonts.sh)")
    return fonts_by_style["print"][0]


def _named_font(fonts_by_style, style, file_name):
    for path in fonts_by_style[style]:
        if path.name == file_name:
            return path
    pytest.skip(f"{file_name} not installed (run training/install-fonts.sh)")


def _ink(image):
    return int((np.asarray(image) < 128).sum())


# --- text -------------------------------------------------------------------

def test_sample_text_is_deterministic_for_a_seed():
    def lines(seed):
        rng = random.Random(seed)
        return [corpus.sample_text(rng, 1, 80) for _ in range(50)]

    assert lines(7) == lines(7)
    assert lines(7) != lines(8)


def test_sample_text_respects_length_and_spacing():
    rng = random.Random(0)
    for _ in range(500):
        text = corpus.sample_text(rng, 5, 60)
        assert 5 <= len(text) <= 60
        assert text == text.strip() and "  " not in text and "\n" not in text and "\t" not in text
    assert all(len(corpus.sample_text(rng, 12, 12)) == 12 for _ in range(200))


def test_sample_text_works_without_faker(monkeypatch):
    monkeypatch.setattr(corpus, "_faker", lambda locale: None)
    texts = [corpus.sample_text(random.Random(i), 1, 80) for i in range(200)]
    assert texts == [corpus.sample_text(random.Random(i), 1, 80) for i in range(200)]
    assert all(texts)


def test_typeset_prints_quotes_apostrophes_and_dashes_as_a_typesetter():
    assert corpus.typeset('"Yes," she said - it\'s \'odd\' (see pp. 12-45) -- on 2026-11-25') == \
        "“Yes,” she said – it’s ‘odd’ (see pp. 12–45) — on 2026-11-25"
    assert corpus.typeset("plain text, no quotes") == "plain text, no quotes"


def test_typographic_share_typesets_the_same_lines_and_leaves_older_recipes_alone():
    plain = [corpus.sample_text(random.Random(i), 1, 80) for i in range(300)]
    assert plain == [corpus.sample_text(random.Random(i), 1, 80, typographic=0.0) for i in range(300)]
    assert [corpus.sample_text(random.Random(i), 1, 80, typographic=1.0) for i in range(300)] == \
        [corpus.typeset(t) for t in plain]
    some = [corpus.sample_text(random.Random(i), 1, 80, typographic=0.5) for i in range(300)]
    typeset = sum(t != p for t, p in zip(some, plain))
    touched = sum(corpus.typeset(p) != p for p in plain)
    assert 0 < typeset < touched  # about half of the lines that have something to typeset


def test_commentary_notes_cite_lines_and_sections_and_leave_other_lines_alone():
    plain = [corpus.sample_text(random.Random(i), 1, 80) for i in range(300)]
    assert plain == [corpus.sample_text(random.Random(i), 1, 80, commentary=False) for i in range(300)]
    notes = [corpus.sample_text(random.Random(i), 20, 80, commentary=True) for i in range(300)]
    assert all(20 <= len(t) <= 80 and t == " ".join(t.split()) for t in notes)
    assert sum(any(c.isdigit() for c in t) for t in notes) > 270  # a reference survives the cut to length
    assert sum("\u00a7" in t for t in notes) > 30  # section signs, which plain text almost never has
    assert sum("\u00a7" in t for t in plain) < 5


def test_sample_text_rejects_bad_bounds():
    with pytest.raises(ValueError):
        corpus.sample_text(random.Random(0), 10, 5)
    with pytest.raises(ValueError):
        corpus.sample_text(random.Random(0), 0, 5)


def test_corpus_extract_is_small_and_public_domain_kjv():
    assert corpus.CORPUS_FILE.stat().st_size <= 2 * 1024 * 1024
    verses = corpus.bible_verses()
    assert verses[0] == ("Genesis 1:1", "In the beginning God created the heaven and the earth.")
    assert len(verses) > 10000


# --- fonts ------------------------------------------------------------------

def test_style_table_maps_debian_font_files():
    assert fonts.style_of("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") == "print"
    assert fonts.style_of("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf") == "typewriter"
    assert fonts.style_of("/usr/share/fonts/opentype/courier-prime/Courier Prime.otf") == "typewriter"
    assert fonts.style_of("/usr/share/fonts/truetype/kristi/Kristi.ttf") == "handwriting"
    assert fonts.style_of("/usr/share/fonts/opentype/urw-base35/Z003-MediumItalic.otf") == "handwriting"
    # ASCII maps to pictures or ornaments in these: never use them for text.
    assert fonts.style_of("/usr/share/fonts/opentype/urw-base35/D050000L.otf") is None
    assert fonts.style_of("/usr/share/fonts/opentype/urw-base35/StandardSymbolsPS.otf") is None
    assert fonts.style_of("/usr/share/fonts/truetype/unknown/Whatever.ttf") is None
    assert fonts.style_of("/opt/myfonts/handwriting/Whatever.ttf") == "handwriting"


def test_find_fonts_per_style(fonts_by_style):
    if not any(fonts_by_style.values()):
        pytest.skip("no fonts installed (run training/install-fonts.sh)")
    for style, paths in fonts_by_style.items():
        for path in paths:
            assert path.suffix.lower() in (".ttf", ".otf")
            assert fonts.style_of(path) == style
            assert fonts.font_covers(path, fonts.CORE_CHARS)
    with pytest.raises(ValueError):
        fonts.find_fonts("gothic")


def test_font_dirs_env_adds_fonts_by_folder_name(print_font, tmp_path, monkeypatch):
    (tmp_path / "handwriting").mkdir()
    copy = tmp_path / "handwriting" / "MyOwnHand.ttf"
    shutil.copy(print_font, copy.with_suffix(print_font.suffix))
    monkeypatch.setenv(fonts.FONT_DIRS_ENV, str(tmp_path))
    assert copy.with_suffix(print_font.suffix) in fonts.find_fonts("handwriting")


def test_font_covers_rejects_missing_glyph(fonts_by_style):
    dejavu = _named_font(fonts_by_style, "print", "DejaVuSans.ttf")
    assert fonts.font_covers(dejavu, "Hello, world! 0123")
    assert not fonts.font_covers(dejavu, "中")  # DejaVu has no CJK
    assert not fonts.font_covers(dejavu, "Hello 中")


def test_font_covers_without_fonttools(fonts_by_style, monkeypatch):
    dejavu = _named_font(fonts_by_style, "print", "DejaVuSans.ttf")
    fonts._has_glyph.cache_clear()
    monkeypatch.setattr(fonts, "_cmap", lambda path: None)  # Pillow-only .notdef check
    try:
        assert fonts.font_covers(dejavu, "Hello")
        assert not fonts.font_covers(dejavu, "中")
    finally:
        fonts._has_glyph.cache_clear()


# --- rendering --------------------------------------------------------------

def test_render_line_mode_and_height(print_font):
    image = synthetic.render_line("Hello world", print_font, random.Random(1), height=48)
    assert image.mode == "L" and image.height == 48 and image.width > 48
    free = synthetic.render_line("Hello world", print_font, random.Random(1))
    assert free.mode == "L" and free.width > free.height > 0


def test_clean_render_is_black_on_white(print_font):
    image = synthetic.render_line("Hello", print_font, random.Random(2), degrade=False)
    pixels = np.asarray(image)
    assert pixels.min() == 0 and pixels.max() == 255
    assert pixels[0, 0] == pixels[-1, -1] == 255  # margins are paper


def test_ink_grows_with_text_length(print_font):
    texts = ["Hello", "Hello world", "Hello world, hello again", "Hello world, hello again and again"]
    ink = [_ink(synthetic.render_line(t, print_font, random.Random(3), degrade=False)) for t in texts]
    assert ink == sorted(ink) and len(set(ink)) == len(ink) and ink[0] > 0


def _ink_rows(image):
    return int((np.asarray(image) < 128).any(axis=1).sum())


def test_oldstyle_figures_are_found_and_drawn(fonts_by_style):
    garamond = _named_font(fonts_by_style, "print", "EBGaramond12-Regular.otf")
    libertine = _named_font(fonts_by_style, "print", "LinLibertine_R.otf")
    dejavu = _named_font(fonts_by_style, "print", "DejaVuSerif.ttf")
    assert fonts.has_oldstyle_figures(garamond)  # its default figures
    assert not fonts.has_oldstyle_figures(dejavu)

    def drawn(font, oldstyle):
        return synthetic.render_line("1020 2001", font, random.Random(0), degrade=False, oldstyle=oldstyle)

    assert drawn(dejavu, True).tobytes() == drawn(dejavu, False).tobytes()  # no old-style figures to draw
    if fonts.OLDSTYLE_FIGURES is None:
        pytest.skip("Pillow without libraqm applies no OpenType features")
    assert fonts.has_oldstyle_figures(libertine)  # through its 'onum' feature
    # 0, 1 and 2 old-style stand an x-height tall, lining ones a capital's height
    assert _ink_rows(drawn(libertine, True)) < 0.8 * _ink_rows(drawn(libertine, False))


def test_render_rejects_blank_text(print_font):
    with pytest.raises(ValueError):
        synthetic.render_line("   ", print_font, random.Random(0))


# --- dataset ----------------------------------------------------------------

def test_dataset_items_are_deterministic(fonts_by_style):
    styles = tuple(s for s in fonts.STYLES if fonts_by_style[s])
    if not styles:
        pytest.skip("no fonts installed (run training/install-fonts.sh)")
    lines = synthetic.SyntheticLines(10, styles=styles, seed=5, font_paths=fonts_by_style)
    again = synthetic.SyntheticLines(10, styles=styles, seed=5, font_paths=fonts_by_style)
    for i in (0, 3, 9):
        (a, text_a), (b, text_b) = lines[i], again[i]
        assert text_a == text_b and a.mode == "L"
        assert a.size == b.size and a.tobytes() == b.tobytes()
    assert lines[-1][1] == lines[9][1]
    assert len(lines) == 10
    other_seed = synthetic.SyntheticLines(10, styles=styles, seed=6, font_paths=fonts_by_style)
    assert [other_seed[i][1] for i in range(5)] != [lines[i][1] for i in range(5)]
    with pytest.raises(IndexError):
        lines[10]


def test_commentary_share_writes_notes_in_old_style_faces(fonts_by_style):
    if not fonts_by_style["print"]:
        pytest.skip("no print fonts installed (run training/install-fonts.sh)")

    def section_signs(commentary):
        lines = synthetic.SyntheticLines(200, styles=("print",), seed=3, font_paths=fonts_by_style,
                                         commentary=commentary)
        return sum("\u00a7" in lines.text(i) for i in range(200)), lines.oldstyle_families

    assert section_signs(0.0)[0] < 5
    signs, oldstyle_families = section_signs(1.0)
    assert signs > 20
    if not any(fonts.font_family(f) == "EB Garamond" for f in fonts_by_style["print"]):
        pytest.skip("EB Garamond, a face with old-style figures, is not installed (run training/install-fonts.sh)")
    assert any(fonts.font_family(faces[0]) == "EB Garamond" for faces in oldstyle_families)


def test_dataset_is_identical_in_a_fresh_process(print_font):
    """Resumed runs and DataLoader workers must see the same line i."""
    code = (
        "import hashlib, sys\n"
        "from training.synthetic import SyntheticLines\n"
        f"lines = SyntheticLines(5, styles=('print',), seed=3, font_paths={{'print': [{str(print_font)!r}]}})\n"
        "image, text = lines[4]\n"
        "sys.stdout.write(hashlib.sha256(image.tobytes() + text.encode()).hexdigest())\n"
    )
    child = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                           text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "123"})
    image, text = synthetic.SyntheticLines(
        5, styles=("print",), seed=3, font_paths={"print": [str(print_font)]})[4]
    assert child.stdout == hashlib.sha256(image.tobytes() + text.encode()).hexdigest()


def test_dataset_text_only_uses_glyphs_the_font_has(fonts_by_style):
    # GNU Typewriter lacks '&', curly quotes, dashes and currency signs; the
    # label must never contain a character drawn as an empty box.
    typewriter = _named_font(fonts_by_style, "typewriter", "GNUTypewriter.ttf")
    lines = synthetic.SyntheticLines(60, styles=("typewriter",), seed=1, degrade=False,
                                     font_paths={"typewriter": [typewriter]})
    for i in range(len(lines)):
        assert fonts.font_covers(typewriter, lines[i][1])


def test_dataset_without_fonts_explains_how_to_install():
    with pytest.raises(RuntimeError, match="install-fonts.sh"):
        synthetic.SyntheticLines(3, styles=("print",), font_paths={"print": []})


def test_write_samples_uses_tesstrain_layout(print_font, tmp_path):
    written = synthetic.write_samples(tmp_path, 3, styles=("print",), seed=2,
                                      font_paths={"print": [print_font]})
    assert [p.name for p in written] == ["0000.png", "0001.png", "0002.png"]
    lines = synthetic.SyntheticLines(3, styles=("print",), seed=2, font_paths={"print": [print_font]})
    for i, png in enumerate(written):
        image, text = lines[i]
        assert (tmp_path / f"{i:04d}.gt.txt").read_text(encoding="utf-8") == text + "\n"
        with Image.open(png) as saved:
            assert saved.mode == "L" and saved.tobytes() == image.tobytes()
