"""Training-time augmentation of text-line images (dark ink on light paper).

``LineAugment(profile, strength)(image, rng)`` returns a changed copy of a
line: stroke width, width (stretch), geometry (warp, perspective, slant,
rotation), framing (paper above and below) and capture (resolution loss,
blur, contrast, brightness, noise).
Each transform runs with its profile's probability; its size scales with
`strength` (0: unchanged).
All randomness comes from `rng`, so a seed gives the same image in every
process. Areas uncovered by geometry get the paper colour, and no transform
moves ink off the canvas: rotation and slant widen or heighten it instead.
Evaluation passes no augmentation at all.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageFilter

PAPER_PERCENTILE = 0.9  # most of a line is paper: its 90th percentile is the paper colour
MAX_TILT_DRIFT = 0.3  # rotation may move one end of a line by this share of its height
MAX_THINNING_INK_LOSS = 0.25  # thinner strokes may lose at most this share of the ink
WARP_CELL = 0.6  # warp mesh cell width, in line heights: about a letter or two
ASCENDER, DESCENDER = 0.7, 0.6  # a line's own ink reaches this many x-heights above and below its densest rows
REFERENCE_HEIGHT = 64  # blur radius and stroke change are given for lines this tall: smaller lines get less


@dataclass(frozen=True)
class AugmentProfile:
    """(probability, largest size at strength 1) of each transform; lengths are in line heights."""

    warp: tuple[float, float]  # smooth displacement of the ink
    perspective: tuple[float, float]  # inward shift of each corner, vertically (3 times that across)
    slant: tuple[float, float]  # degrees of shear, either way
    rotate: tuple[float, float]  # degrees, either way, capped by MAX_TILT_DRIFT
    stroke: tuple[float, float]  # share of a 3x3 min or max filter (bolder or thinner) at REFERENCE_HEIGHT
    resolution: tuple[float, float]  # share of the resolution lost by downscale-upscale
    blur: tuple[float, float]  # Gaussian radius in pixels at REFERENCE_HEIGHT
    contrast: tuple[float, float]  # relative change of contrast, mostly a loss
    brightness: tuple[float, float]  # grey levels, either way
    noise: tuple[float, float]  # standard deviation in grey levels
    min_rows: int = 24  # resolution loss keeps at least this many rows
    stretch: tuple[float, float] = (0.0, 0.0)  # relative change of the line's width, either way (narrower or wider)
    reframe: tuple[float, float] = (0.0, 0.0)  # paper added above and below, or blank rows trimmed, either way
    # odds, and the fewest rows: the line scanned at that many rows up to twice as many, whatever its crop's height,
    # then scaled back (`resolution` is relative: a 90 px crop almost never reaches 12 rows through it)
    scan_rows: tuple[float, float] = (0.0, 0.0)


# Capture defects are common to both; handwriting varies letter shape, slant and pen width more.
_CAPTURE = dict(resolution=(0.15, 0.4), blur=(0.3, 0.8), contrast=(0.5, 0.3), brightness=(0.5, 20.0),
                noise=(0.4, 8.0))
_PRINT_DEGRADED = AugmentProfile(warp=(0.15, 0.015), perspective=(0.2, 0.1), slant=(0.2, 3.0), rotate=(0.3, 1.5),
                                 stroke=(0.3, 0.7), resolution=(0.35, 0.85), blur=(0.4, 2.0), contrast=(0.5, 0.3),
                                 brightness=(0.5, 20.0), noise=(0.5, 45.0), min_rows=10)
PROFILES = {
    "print": AugmentProfile(warp=(0.15, 0.015), perspective=(0.2, 0.1), slant=(0.2, 3.0), rotate=(0.3, 1.5),
                            stroke=(0.3, 0.7), **_CAPTURE),
    # Bad captures as well: 100 dpi scans of small print (down to 10 rows), photocopier grain, defocus.
    "print-degraded": _PRINT_DEGRADED,
    # Also line crops as tight or as loose as any segmenter cuts them: a model that saw one kind misreads the other
    # (AJMC's tight crops read better padded, fondue's loose ones worse: BENCHMARKS.md).
    "print-degraded-reframed": replace(_PRINT_DEGRADED, reframe=(0.5, 0.4)),
    # And, of the lines the relative resolution loss leaves alone, a fifth scanned at 10-20 rows whatever their
    # crop's size: a 100 dpi scan of small print.
    "print-lowres": replace(_PRINT_DEGRADED, reframe=(0.5, 0.4), scan_rows=(0.2, 10)),
    "handwriting": AugmentProfile(warp=(0.6, 0.06), perspective=(0.2, 0.1), slant=(0.5, 10.0), rotate=(0.3, 2.0),
                                  stroke=(0.5, 1.0), **_CAPTURE),
    # For one writer's few thousand lines, which a model soon knows by heart: letters that differ more in shape, slant
    # and spacing from pass to pass (on Hooker's lines it gained on seen and unseen lines alike: BENCHMARKS.md).
    "handwriting-strong": AugmentProfile(warp=(0.7, 0.1), perspective=(0.2, 0.1), slant=(0.6, 15.0),
                                         rotate=(0.3, 2.0), stroke=(0.5, 1.0), stretch=(0.5, 0.25), **_CAPTURE),
}


class LineAugment:
    """Random, plausible scan variations of a line image; call with the image and a `random.Random`."""

    def __init__(self, profile: str | AugmentProfile, strength: float = 1.0):
        if isinstance(profile, str):
            if profile not in PROFILES:
                raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")
            profile = PROFILES[profile]
        if strength < 0:
            raise ValueError(f"strength must be >= 0, got {strength}")
        self.profile, self.strength = profile, strength

    def __repr__(self) -> str:
        return f"LineAugment({self.profile!r}, strength={self.strength})"

    def __call__(self, image: Image.Image, rng: random.Random) -> Image.Image:
        image = image.convert("L")  # a copy even when already "L": the caller's image is never changed
        if self.strength == 0:
            return image
        p, s = self.profile, self.strength
        np_rng = np.random.default_rng(rng.getrandbits(64))
        paper = paper_colour(image)

        def roll(chance):  # None when the transform is skipped, else its largest size at this strength
            # A transform a profile never applies draws no number, so adding one leaves the profile's other draws as
            # they were (and every recipe that names it sees the same lines).
            probability, largest = chance
            return largest * s if probability > 0 and rng.random() < probability else None

        # Ink changes first, on the original pixel grid; capture defects last, noise on top of everything.
        if (amount := roll(p.stroke)) is not None:
            amount = min(1.0, rng.uniform(0.3, 1.0) * amount * image.height / REFERENCE_HEIGHT)
            image = _change_stroke_width(image, paper, amount, bolder=rng.random() < 0.5)
        if (change := roll(p.stretch)) is not None:
            width = max(1, round(image.width * (1.0 + rng.uniform(-min(change, 0.9), change))))
            image = image.resize((width, image.height), Image.Resampling.BILINEAR)
        geometry = dict(warp=roll(p.warp), perspective=roll(p.perspective), slant=roll(p.slant),
                        rotate=roll(p.rotate))
        if any(value is not None for value in geometry.values()):
            image = _distort(image, paper, rng, np_rng, **geometry)
        if (change := roll(p.reframe)) is not None:
            image = reframe(image, paper, rng.uniform(-change, change), rng.random())
        if (loss := roll(p.resolution)) is not None:
            image = _lose_resolution(image, 1.0 - min(0.9, rng.uniform(0.0, loss)), p.min_rows)
        elif p.scan_rows[0] > 0 and rng.random() < p.scan_rows[0]:  # one scan per line: the two never stack
            rows = rng.randint(round(p.scan_rows[1]), 2 * round(p.scan_rows[1]))
            image = _lose_resolution(image, rows / image.height, 1)
        if (radius := roll(p.blur)) is not None:
            radius = rng.uniform(0.3, 1.0) * radius * image.height / REFERENCE_HEIGHT
            image = image.filter(ImageFilter.GaussianBlur(radius))
        contrast, brightness = roll(p.contrast), roll(p.brightness)
        if contrast is not None or brightness is not None:
            factor = max(0.3, 1.0 + rng.uniform(-1.0, 0.5) * contrast) if contrast is not None else 1.0
            shift = rng.uniform(-brightness, brightness) if brightness is not None else 0.0
            image = image.point([round(min(255.0, max(0.0, 128 + factor * (v - 128) + shift))) for v in range(256)])
        if (sigma := roll(p.noise)) is not None:
            noise = np_rng.standard_normal(image.size[::-1], np.float32) * (rng.uniform(0.2, 1.0) * sigma)
            image = Image.fromarray(np.clip(np.asarray(image, np.float32) + noise + 0.5, 0, 255).astype(np.uint8))
        return image


def paper_colour(image: Image.Image) -> int:
    """The grey level of the paper: the 90th percentile of a mode "L" image."""
    counts = np.cumsum(image.histogram())
    return int(np.searchsorted(counts, PAPER_PERCENTILE * counts[-1]))


def _ink(image: Image.Image, paper: int) -> float:
    """Total darkness below the paper colour: a measure of how much ink there is."""
    return float(np.clip(paper - np.asarray(image, np.float32), 0, None).sum())


def _change_stroke_width(image, paper, amount, bolder):
    """Blend towards a 3x3 min (dark spreads: bolder) or max (thinner) filter; `amount` in [0, 1]."""
    filtered = _rank_filter3(image, np.minimum if bolder else np.maximum)
    if not bolder:  # a full erosion wipes out strokes 2 px wide: thin only as far as most ink survives
        lost = 1.0 - _ink(filtered, paper) / max(_ink(image, paper), 1.0)
        amount = min(amount, MAX_THINNING_INK_LOSS / max(lost, 1e-6))
    return Image.blend(image, filtered, amount)


def _rank_filter3(image, pick):
    """3x3 min or max filter, equal to ImageFilter.MinFilter(3) / MaxFilter(3) but about 25 times faster."""
    a = np.pad(np.asarray(image), 1, mode="edge")
    rows = pick(pick(a[:-2], a[1:-1]), a[2:])
    return Image.fromarray(pick(pick(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:]))


def _distort(image, paper, rng, np_rng, warp=None, perspective=None, slant=None, rotate=None):
    """Perspective, slant, rotation and elastic warp in a single resampling (each pass blurs thin strokes).

    Sizes are None (skipped) or as in AugmentProfile, times the strength. Every
    vertex of a mesh on the output canvas is traced back to the input point it
    shows; Pillow's MESH transform then samples the quads between them.
    """
    w, h = image.size
    homography = _random_perspective(w, h, perspective * h, rng) if perspective is not None else None
    k = math.tan(math.radians(rng.uniform(-slant, slant))) if slant is not None else 0.0
    forward = np.array([[1.0, -k], [0.0, 1.0]])  # shear: tops lean right when k > 0
    if rotate is not None:  # tilt only as far as the line drifts MAX_TILT_DRIFT heights end to end
        cap = math.degrees(math.atan(MAX_TILT_DRIFT * h / (w + abs(k) * h)))
        angle = math.radians(rng.uniform(-1.0, 1.0) * min(rotate, cap))
        forward = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]]) @ forward
    # The canvas grows to the bounding box of the slanted, rotated input: no ink leaves it.
    corners = forward @ np.array([[0.0, w, w, 0.0], [0.0, 0.0, h, h]])
    origin = corners.min(axis=1)
    out_w, out_h = (math.ceil(extent - 1e-6) for extent in corners.max(axis=1) - origin)

    columns = min(out_w, max(1, round(out_w / (WARP_CELL * h))))
    xs = np.round(np.linspace(0, out_w, columns + 1)).astype(int)
    ys = np.round(np.linspace(0, out_h, min(out_h, 2) + 1)).astype(int)  # two rows of cells: upper, lower half
    x, y = np.meshgrid(xs.astype(float), ys.astype(float))
    if warp is not None:
        # Vertices move less than half a cell, so quads never fold; edge vertices move only along their
        # edge, so the canvas maps onto itself.
        amplitude = min(warp * h, 0.45 * min(np.diff(xs).min(), np.diff(ys).min()))
        dx, dy = np_rng.uniform(-amplitude, amplitude, (2, *x.shape))
        dx[:, [0, -1]] = 0.0
        dy[[0, -1], :] = 0.0
        x, y = x + dx, y + dy
    x, y = np.linalg.inv(forward) @ np.stack([x.ravel() + origin[0], y.ravel() + origin[1]])
    if homography is not None:
        x, y = homography(x, y)
    x, y = x.reshape(len(ys), len(xs)), y.reshape(len(ys), len(xs))

    def vertex(i, j):
        return x[i, j], y[i, j]

    mesh = [((xs[j], ys[i], xs[j + 1], ys[i + 1]),
             (*vertex(i, j), *vertex(i + 1, j), *vertex(i + 1, j + 1), *vertex(i, j + 1)))
            for i in range(len(ys) - 1) for j in range(len(xs) - 1)]
    return image.transform((out_w, out_h), Image.Transform.MESH, mesh, Image.Resampling.BILINEAR, fillcolor=paper)


def _random_perspective(w, h, largest_shift, rng):
    """A view of a slightly tilted page: each corner moves inwards, up to `largest_shift` pixels up or down and
    3 times that across. Returns the map from the same canvas back to the input, on coordinate arrays."""

    def inward(limit):
        return rng.uniform(0.0, limit)

    down, across = min(largest_shift, 0.2 * h), min(3 * largest_shift, 0.2 * w)
    corners = [(inward(across), inward(down)), (w - inward(across), inward(down)),
               (w - inward(across), h - inward(down)), (inward(across), h - inward(down))]
    a, b, c, d, e, f, g, i = _perspective_coefficients(corners, [(0, 0), (w, 0), (w, h), (0, h)])

    def to_input(x, y):
        scale = g * x + i * y + 1.0
        return (a * x + b * y + c) / scale, (d * x + e * y + f) / scale

    return to_input


def _perspective_coefficients(output_points, input_points):
    """Coefficients (in Pillow's PERSPECTIVE order) of the projective map taking each output point to its input."""
    rows, targets = [], []
    for (x, y), (u, v) in zip(output_points, input_points):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        targets += [u, v]
    return np.linalg.solve(np.array(rows, float), np.array(targets, float))


def x_height_band(pixels: np.ndarray, paper: int):
    """(first, last) row of a line's x-height band, the rows holding at least half the densest row's ink; None when
    the line is blank paper."""
    darkness = np.clip(paper - np.asarray(pixels, np.float32), 0, None).sum(axis=1)  # no copy of reframe's floats
    if darkness.max() == 0:
        return None
    band = np.nonzero(darkness > 0.5 * darkness.max())[0]
    return int(band[0]), int(band[-1])


def reframe(image, paper, change, share_above):
    """Add `change` line heights of paper (change > 0) or trim as many rows (< 0), `share_above` of them at the
    top: the text fills less or more of its crop. Trimming keeps the line's own ink (its x-height band, with room
    for ascenders and descenders) and may cut what reaches in from the lines above and below."""
    w, h = image.size
    rows = round(abs(change) * h)
    above = round(rows * share_above)
    if change > 0:
        canvas = Image.new("L", (w, h + rows), paper)
        canvas.paste(image, (0, above))
        return canvas
    pixels = np.asarray(image, np.float32)
    band = x_height_band(pixels, paper)
    if band is None:
        return image
    first, last = band
    x_height = last - first + 1
    own = slice(max(0, first - math.ceil(ASCENDER * x_height)), last + math.ceil(DESCENDER * x_height) + 1)
    inked = np.nonzero((pixels[own] < (paper + pixels.min()) / 2).any(axis=1))[0] + own.start
    top, bottom = min(above, inked[0]), min(rows - above, h - 1 - inked[-1])
    return image.crop((0, top, w, h - bottom))


def _lose_resolution(image, scale, min_rows):
    """Downscale then upscale back: the blockiness and softness of a low-resolution scan."""
    scale = max(scale, min(1.0, min_rows / image.height))
    small = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if small == image.size:
        return image
    return image.resize(small, Image.Resampling.BILINEAR).resize(image.size, Image.Resampling.BILINEAR)
