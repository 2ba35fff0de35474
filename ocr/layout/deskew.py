"""Skew: find the angle of the text lines and rotate the page so they are horizontal.

Angles are in degrees, counter-clockwise as seen on screen, the convention of PIL's `Image.rotate`: a page that
`estimate_skew` says is at +2 degrees is straightened by rotating it by -2 degrees.
"""
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

MAX_POINTS = 400_000  # ink pixels sampled for the projection profiles: plenty for a 0.05 degree resolution


def _profile_energy(xs: np.ndarray, ys: np.ndarray, angle: float) -> float:
    """Sum of squares of the projection of the points along lines at `angle`: largest when lines are aligned."""
    rows = ys + xs * math.tan(math.radians(angle))
    rows -= rows.min()
    below = np.floor(rows)
    share = rows - below  # split each point between its two nearest rows, so the energy varies smoothly
    below = below.astype(np.int64)
    counts = np.bincount(below, 1.0 - share, minlength=below.max() + 2) + np.bincount(below + 1, share)
    return float(np.dot(counts, counts))


def estimate_skew(mask: np.ndarray, max_angle: float = 5.0, coarse_step: float = 0.25,
                  fine_step: float = 0.02) -> float:
    """The skew of the text in an ink mask: projection-profile energy maximised over +-max_angle, coarse then fine."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 2:
        return 0.0
    if len(xs) > MAX_POINTS:
        keep = np.random.default_rng(0).choice(len(xs), MAX_POINTS, replace=False)
        xs, ys = xs[keep], ys[keep]
    xs = xs.astype(np.float64)
    ys = ys.astype(np.float64)

    def best(angles):
        energy = np.array([_profile_energy(xs, ys, a) for a in angles])
        top = np.flatnonzero(energy >= energy.max() * (1 - 1e-9))
        return angles[top].mean()  # the middle of a flat optimum, not its first angle

    coarse = best(np.arange(-max_angle, max_angle + coarse_step / 2, coarse_step))
    fine = best(np.arange(coarse - coarse_step, coarse + coarse_step + fine_step / 2, fine_step))
    return round(float(fine), 2)


@dataclass
class Rotation:
    """Maps between the original page (width x height) and the straightened one, which is enlarged to hold the
    whole rotated page. Coordinates are in original-resolution pixels; `image` can also produce scaled copies."""
    angle: float  # the page's skew in degrees; the straightened page is the original rotated by -angle
    width: int
    height: int

    def __post_init__(self):
        a = math.radians(self.angle)
        self._cos, self._sin = math.cos(a), math.sin(a)
        self.out_width = math.ceil(abs(self.width * self._cos) + abs(self.height * self._sin) - 1e-6)
        self.out_height = math.ceil(abs(self.width * self._sin) + abs(self.height * self._cos) - 1e-6)

    def to_source(self, points) -> np.ndarray:
        """Points (x, y) of the straightened page -> the same points on the original page."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        dx, dy = p[:, 0] - self.out_width / 2, p[:, 1] - self.out_height / 2
        # The original is the straightened page turned counter-clockwise by `angle` (y points down).
        return np.stack([self.width / 2 + dx * self._cos + dy * self._sin,
                         self.height / 2 - dx * self._sin + dy * self._cos], axis=1)

    def straighten(self, image: Image.Image, scale: float = 1.0, fill=255, resample=Image.BICUBIC) -> Image.Image:
        """The straightened page from `image`, the original page at `scale` times its resolution."""
        size = (max(1, round(self.out_width * scale)), max(1, round(self.out_height * scale)))
        # Output pixel q -> input pixel scale * to_source(q / scale): an affine map PIL applies per pixel.
        c, s = self._cos, self._sin
        ox = scale * (self.width / 2) - c * scale * self.out_width / 2 - s * scale * self.out_height / 2
        oy = scale * (self.height / 2) + s * scale * self.out_width / 2 - c * scale * self.out_height / 2
        return image.transform(size, Image.AFFINE, (c, s, ox, -s, c, oy), resample=resample, fillcolor=fill)
