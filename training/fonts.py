"""Find installed fonts for synthetic text lines, grouped by writing style.

Styles: "print" (book and office faces), "typewriter" (monospaced, Courier-like)
and "handwriting" (script and hand-drawn faces). Debian packages listed in
training/install-fonts.sh are mapped by file-name patterns; any other font
joins a style when its folder is named after that style, e.g.
``$VITOCR_FONT_DIRS/handwriting/MyHand.ttf``.
"""

from __future__ import annotations

import functools
import os
import re
import string
from pathlib import Path

from PIL import ImageFont, features

STYLES = ("print", "typewriter", "handwriting")

# Characters every accepted font must draw; rarer ones (quotes, currency,
# accents) are checked per line by the dataset, which resamples text instead.
CORE_CHARS = string.ascii_letters + string.digits + ".,;:!?'\"-()/"

FONT_SUFFIXES = (".ttf", ".otf")  # Type 1 (.t1/.pfb) copies duplicate the .otf ones

# OpenType old-style figures, where Pillow can shape text (libraqm); without it faces draw their default figures
OLDSTYLE_FIGURES = ["onum"] if features.check("raqm") else None

FONT_DIRS_ENV = "VITOCR_FONT_DIRS"  # os.pathsep-separated extra folders

# First matching pattern wins, so exclusions and monospaced faces come before
# the broad family names (DejaVuSansMono is typewriter, DejaVuSans is print).
_STYLE_PATTERNS = [
    # symbol, math, keyboard-key and initials-only faces: ASCII maps to pictures;
    # Joscelyn: ornamental calligraphy whose capitals few people could read
    (r"dingbat|d050000l|symbol|math|linbiolinum_k|linlibertine_i$|joscelyn", None),
    (r"courier|typewriter|mono|linlibertine_m$", "typewriter"),
    (r"dkg|breip|femkeklaver|delphine|stevehand|dancingscript|kaushan|kristi"
     r"|purisa|comicneue|z003", "handwriting"),  # Z003: Zapf Chancery clone
    (r"dejavu|liberation|garamond|linlibertine|linbiolinum|c059|p052|nimbus"
     r"|urwbookman|urwgothic|freesans|freeserif", "print"),
]


def font_dirs() -> list[Path]:
    """Folders searched for fonts: system, per-user, then $VITOCR_FONT_DIRS."""
    dirs = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
            Path.home() / ".local/share/fonts", Path.home() / ".fonts"]
    extra = os.environ.get(FONT_DIRS_ENV, "")
    dirs += [Path(d).expanduser() for d in extra.split(os.pathsep) if d]
    return dirs


def style_of(font_path) -> str | None:
    """Style of a font file, or None for unknown and symbol fonts."""
    path = Path(font_path)
    if path.parent.name.lower() in STYLES:  # only the parent: /home/print/... is no style
        return path.parent.name.lower()
    stem = re.sub(r"[\s_-]+", "", path.stem.lower())
    raw_stem = path.stem.lower()
    for pattern, style in _STYLE_PATTERNS:
        if re.search(pattern, stem) or re.search(pattern, raw_stem):
            return style
    return None


def find_fonts(style: str, chars: str = CORE_CHARS) -> list[Path]:
    """Sorted font files of `style` that Pillow opens and that draw all `chars`."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
    return [p for p in _all_font_files() if style_of(p) == style and font_covers(p, chars)]


def font_covers(font_path, chars: str) -> bool:
    """True if the font has a visible glyph for every non-space char in `chars`."""
    path = str(font_path)
    return all(_has_glyph(path, ch) for ch in set(chars) if not ch.isspace())


def font_family(font_path) -> str:
    """Family name stored in the font, e.g. 'DejaVu Sans' for DejaVuSans-Bold.ttf."""
    return load_font(str(font_path), 32).getname()[0] or Path(font_path).stem


def _all_font_files() -> list[Path]:
    seen, found = set(), []
    for folder in font_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in FONT_SUFFIXES and path.is_file():
                real = path.resolve()  # fontconfig folders often hold symlinks
                if real not in seen:
                    seen.add(real)
                    found.append(path)
    return sorted(found)


@functools.lru_cache(maxsize=512)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """Cached Pillow font; opening one takes longer than drawing a line with it."""
    return ImageFont.truetype(path, size)


@functools.lru_cache(maxsize=None)
def has_oldstyle_figures(font_path) -> bool:
    """True if the face draws old-style figures (a 0 no taller than an o, as in 19th-century books), by default
    (EB Garamond) or through OLDSTYLE_FIGURES (Linux Libertine)."""
    font = load_font(str(font_path), 64)
    # among letters: some faces (FreeSerif) shape old-style figures only in runs of digits
    small = font.getbbox("o0", features=OLDSTYLE_FIGURES)
    capital = font.getbbox("H")
    return small[3] - small[1] < 0.8 * (capital[3] - capital[1])


@functools.lru_cache(maxsize=None)
def _has_glyph(path: str, ch: str) -> bool:
    try:
        font = load_font(path, 32)
    except OSError:
        return False  # not a font Pillow can open
    cmap = _cmap(path)
    if cmap is not None:
        if ord(ch) not in cmap:
            return False
    elif _same_mask(font, ch, "\uffff"):  # no fontTools: compare with .notdef
        return False
    # Some fonts map a code point to an empty glyph, which would silently drop
    # the character from the image while the label keeps it.
    return font.getmask(ch).getbbox() is not None


@functools.lru_cache(maxsize=None)
def _cmap(path: str):
    """Set of mapped code points, or None when fontTools is unavailable."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:
        return None
    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            return frozenset((font.getBestCmap() or {}).keys())
    except Exception:  # fontTools rejects some fonts FreeType reads fine
        return None


def _same_mask(font, a: str, b: str) -> bool:
    ma, mb = font.getmask(a), font.getmask(b)
    return ma.size == mb.size and bytes(ma) == bytes(mb)


if __name__ == "__main__":
    for name in STYLES:
        fonts = find_fonts(name)
        families = sorted({font_family(p) for p in fonts})
        print(f"{name}: {len(fonts)} fonts, {len(families)} families: {', '.join(families)}")
