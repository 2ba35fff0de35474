"""Synthetic text-line images (printed, typewritten, handwriting-like) for line OCR.

``SyntheticLines`` is a map-style dataset: item i is always the same image and
text for a given seed, so DataLoader workers and resumed runs agree.
``write_samples`` dumps lines in the tesstrain layout (NNNN.png + NNNN.gt.txt).
"""

from __future__ import annotations

import io
import random
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from training import corpus, fonts

# Per-character drawing (jitter, tracking, uneven ink) instead of one shaped run.
_PER_CHAR_SHARE = {"print": 0.2, "typewriter": 1.0, "handwriting": 0.5}
_REFERENCE_GLYPHS = "Hgjy|"  # spans ascender to descender: fixes the line box
_TEXT_TRIES = 20  # texts drawn per item until one fits the font's character set


def render_line(text: str, font_path, rng: random.Random, height: int | None = None,
                degrade: bool = True, style: str | None = None, oldstyle: bool = False) -> Image.Image:
    """Draw `text` with dark ink on light paper; returns a mode "L" image.

    All randomness comes from `rng`. `height` rescales the result keeping the
    aspect ratio; `style` (default: guessed from the font file) tunes layout.
    Without `degrade`: black on white, no blur, noise or geometry changes.
    `oldstyle`: old-style figures where the face has them (fonts.OLDSTYLE_FIGURES).
    """
    if not text.strip():
        raise ValueError("text must contain a visible character")
    style = style or fonts.style_of(font_path) or "print"
    size = rng.randrange(24, 52, 2)  # even sizes only: fewer cached font objects
    font = fonts.load_font(str(font_path), size)
    mask = _draw_mask(text, font, size, style, rng, fonts.OLDSTYLE_FIGURES if oldstyle else None)
    np_rng = np.random.default_rng(rng.getrandbits(64))
    if degrade:
        mask = _degrade_mask(mask, size, rng, np_rng)
        image = _on_paper(mask, rng, np_rng)
        image = _degrade_image(image, rng)
    else:
        image = Image.fromarray(255 - np.asarray(mask))
    if height:
        width = max(1, round(image.width * height / image.height))
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return image


class SyntheticLines:
    """`count` synthetic (image, text) pairs; item i depends only on (seed, i)."""

    def __init__(self, count: int, styles=("print", "typewriter"), seed: int = 0,
                 degrade: bool = True, height: int | None = None,
                 min_chars: int = 1, max_chars: int = 80, font_paths=None, typographic: float = 0.0,
                 commentary: float = 0.0):
        """`font_paths` maps style -> font files; by default fonts.find_fonts(style). `typographic`: share of lines
        with curly quotes and real dashes (corpus.sample_text). `commentary`: share of print lines written as the
        notes of a classical edition (line references, section signs), half of them in faces with old-style
        figures, all with old-style figures where the face has them (none of these draws is made at 0)."""
        self.count, self.seed, self.degrade, self.height = count, seed, degrade, height
        self.typographic, self.commentary = typographic, commentary
        self.min_chars, self.max_chars = min_chars, max_chars
        found = font_paths or {style: fonts.find_fonts(style) for style in styles}
        self.families = {s: _group_by_family(found.get(s, [])) for s in styles}
        missing = [s for s, fams in self.families.items() if not fams]
        if len(missing) == len(self.families):
            raise RuntimeError(f"no fonts found for styles {tuple(styles)}; "
                               "run training/install-fonts.sh or set VITOCR_FONT_DIRS")
        if missing:
            warnings.warn(f"no fonts for styles {missing}; generating only the others")
        self.families = {s: fams for s, fams in self.families.items() if fams}
        self.styles = tuple(self.families)
        self.oldstyle_families = [faces for faces in self.families.get("print", [])
                                  if any(fonts.has_oldstyle_figures(f) for f in faces)] if commentary else []

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[Image.Image, str]:
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError(f"index {index} out of range for {self.count} lines")
        rng, style, font_path, text, book = self._plan(index)
        image = render_line(text, font_path, rng, self.height, self.degrade, style, oldstyle=book)
        return image, text

    def text(self, index: int) -> str:
        """The text of line `index`, without rendering it (for charsets and width estimates)."""
        return self._plan(index)[3]

    def _plan(self, index: int):
        rng = random.Random(f"{self.seed}:{index}")  # str seeds hash the same in every process
        style = rng.choice(self.styles)
        families = self.families[style]
        book = style == "print" and bool(self.commentary) and rng.random() < self.commentary
        if book and self.oldstyle_families and rng.random() < 0.5:
            families = self.oldstyle_families
        font_path = _pick_face(rng.choice(families), rng)
        return rng, style, font_path, self._text_for(font_path, rng, book), book

    def _text_for(self, font_path, rng, commentary=False):
        for _ in range(_TEXT_TRIES):
            text = corpus.sample_text(rng, self.min_chars, self.max_chars, self.typographic, commentary)
            if fonts.font_covers(font_path, text):
                return text
        # Rare: keep only what the font draws, so the label matches the pixels.
        kept = "".join(c for c in text if c == " " or fonts.font_covers(font_path, c))
        return " ".join(kept.split()) or "a"


def write_samples(folder, n: int, styles=("print", "typewriter", "handwriting"),
                  seed: int = 0, **dataset_options) -> list[Path]:
    """Write n lines as NNNN.png + NNNN.gt.txt (tesstrain layout); returns the PNGs."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines = SyntheticLines(n, styles=styles, seed=seed, **dataset_options)
    digits = max(4, len(str(n - 1)))
    written = []
    for i in range(n):
        image, text = lines[i]
        png = folder / f"{i:0{digits}d}.png"
        image.save(png)
        png.with_suffix(".gt.txt").write_text(text + "\n", encoding="utf-8")
        written.append(png)
    return written


def _group_by_family(paths):
    families = {}
    for path in sorted(paths):
        families.setdefault(fonts.font_family(path), []).append(path)
    return [families[name] for name in sorted(families)]


def _pick_face(faces, rng):
    """Regular faces three times as often as bold, italic or light ones."""
    weights = [1 if re.search(r"bold|demi|italic|oblique|light|bd|it$|bi$|_r[bzi]+$", Path(f).stem, re.I)
               else 3 for f in faces]
    return rng.choices(faces, weights)[0]


def _draw_mask(text, font, size, style, rng, features=None):
    """Ink coverage (0..255) of the text with paper margins, as an "L" image; `features`: OpenType ones."""
    ascent, descent = font.getmetrics()
    pad = size  # room for swashes, jitter and overhanging italics
    per_char = rng.random() < _PER_CHAR_SHARE[style]
    baseline = pad + ascent
    if per_char:  # place every glyph first: tracking changes the canvas width
        typewriter = style == "typewriter"
        tracking = size * (rng.uniform(0.0, 0.06) if typewriter else rng.uniform(-0.03, 0.12))
        jitter = size * (rng.uniform(0.005, 0.03) if typewriter else rng.uniform(0.0, 0.015))
        glyphs, x = [], float(pad)
        for ch in text:
            ink = rng.uniform(0.55, 1.0) if typewriter else rng.uniform(0.85, 1.0)
            glyphs.append((x, baseline + rng.gauss(0.0, jitter), ch, int(255 * ink)))
            x += font.getlength(ch, features=features) + tracking
        width = max(x, glyphs[-1][0] + font.getlength(glyphs[-1][2], features=features))
    else:
        glyphs = [(pad, baseline, text, 255)]
        width = pad + font.getlength(text, features=features)
    canvas = Image.new("L", (int(width) + pad, ascent + descent + 2 * pad))
    draw = ImageDraw.Draw(canvas)
    for x, y, chars, ink in glyphs:
        draw.text((x, y), chars, font=font, fill=ink, anchor="ls", features=features)

    # Crop: ink extent horizontally; vertically the font's usual line box, so a
    # line of "ace" is not scaled up like a line of "Hgjy" after resizing.
    ink_box = canvas.getbbox() or (0, 0, canvas.width, canvas.height)
    ref = font.getbbox(_REFERENCE_GLYPHS, anchor="ls")
    top = min(ink_box[1], baseline + ref[1])
    bottom = max(ink_box[3], baseline + ref[3])
    left, right = (int(size * rng.uniform(0.1, 1.0)) for _ in range(2))
    above, below = (int(size * rng.uniform(0.05, 0.35)) for _ in range(2))
    return canvas.crop((ink_box[0] - left, top - above, ink_box[2] + right, bottom + below))


def _degrade_mask(mask, size, rng, np_rng):
    """Changes to the ink itself: bleed, wear, blur, tilt and slant."""
    roll = rng.random()
    if roll < 0.25:
        mask = _rank_filter3(mask, np.maximum)  # ink bleed: bolder strokes
    elif roll < 0.35:
        thinner = _rank_filter3(mask, np.minimum)  # starved ribbon: thinner strokes
        # Thin faces would vanish: erode only where most of the ink survives.
        if np.asarray(thinner).sum() > 0.5 * np.asarray(mask).sum():
            mask = thinner
    if rng.random() < 0.3:  # worn type or dry pen: patchy ink
        wear = _smooth_noise(np_rng, mask.size, cell=max(2, size // 8))
        ink = np.asarray(mask, np.float32) * np.clip(1.0 - rng.uniform(0.3, 0.7) * wear, 0.0, 1.0)
        mask = Image.fromarray(ink.astype(np.uint8))
    if rng.random() < 0.4:
        mask = mask.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    if rng.random() < 0.3:  # slant
        k = rng.uniform(-0.15, 0.15)
        width = mask.width + int(abs(k) * mask.height)
        mask = mask.transform((width, mask.height), Image.Transform.AFFINE,
                              (1, k, -max(k, 0.0) * mask.height, 0, 1, 0),
                              Image.Resampling.BILINEAR, fillcolor=0)
    if rng.random() < 0.4:
        mask = mask.rotate(rng.uniform(-1.2, 1.2), Image.Resampling.BILINEAR,
                           expand=True, fillcolor=0)
    return mask


def _on_paper(mask, rng, np_rng):
    """Composite ink coverage onto uneven, textured paper."""
    h, w = mask.height, mask.width
    paper = np.full((h, w), rng.uniform(195, 250), np.float32)
    paper += rng.uniform(2, 14) * _smooth_noise(np_rng, (w, h), cell=rng.randint(8, 32))
    paper += np.linspace(0, rng.uniform(-20, 20), w, dtype=np.float32)  # uneven lighting
    ink = rng.uniform(0, 70)
    alpha = np.asarray(mask, np.float32) / 255.0
    page = paper + (ink - paper) * alpha
    page += rng.uniform(1, 8) * np_rng.standard_normal(page.shape, dtype=np.float32)
    if rng.random() < 0.1:  # dust and toner specks
        specks = np_rng.random(page.shape) < rng.uniform(0.0005, 0.003)
        page[specks] = np_rng.choice([ink, 255.0], size=int(specks.sum()))
    if rng.random() < 0.3:  # contrast curve of the scanner or photocopier
        page = 255.0 * (np.clip(page, 0, 255) / 255.0) ** rng.uniform(0.7, 1.5)
    return Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))


def _degrade_image(image, rng):
    """Changes made by capture and storage: low resolution, JPEG."""
    if rng.random() < 0.2:
        scale = rng.uniform(0.4, 0.8)
        small = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
        image = image.resize(small, Image.Resampling.BILINEAR).resize(image.size, Image.Resampling.BILINEAR)
    if rng.random() < 0.3:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=rng.randint(30, 85))
        image = Image.open(buffer)
        image.load()
    return image


def _rank_filter3(mask, pick):
    """3x3 max or min filter; ImageFilter.MaxFilter is several times slower."""
    a = np.pad(np.asarray(mask), 1, mode="edge")
    rows = pick(pick(a[:-2], a[1:-1]), a[2:])
    return Image.fromarray(pick(pick(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:]))


def _smooth_noise(np_rng, size, cell):
    """Low-frequency noise in [-1, 1]-ish: random grid upsampled bicubically."""
    w, h = size
    grid = np_rng.standard_normal((max(2, h // cell + 2), max(2, w // cell + 2))).astype(np.float32)
    return np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.BICUBIC))
