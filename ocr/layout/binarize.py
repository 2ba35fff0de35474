"""Ink masks from grayscale pages: global Otsu, and Sauvola's local threshold for uneven lighting.

Both take a 2-D uint8 array (dark text on light paper) and return a boolean mask, True where there is ink.
"""
import numpy as np

SAUVOLA_K = 0.2  # how far below the local mean ink must be, scaled by the local contrast
SAUVOLA_R = 128.0  # the dynamic range of the standard deviation for 8-bit images


def otsu_threshold(gray: np.ndarray) -> float:
    """The grey level that best separates the histogram into two classes (maximal between-class variance)."""
    hist = np.bincount(np.asarray(gray, dtype=np.uint8).ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    weight_dark = np.cumsum(hist)
    weight_light = weight_dark[-1] - weight_dark
    mass_dark = np.cumsum(hist * levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_dark = mass_dark / weight_dark
        mean_light = (mass_dark[-1] - mass_dark) / weight_light
        between = weight_dark * weight_light * (mean_dark - mean_light) ** 2
    between = np.nan_to_num(between)
    if not between.any():  # a single grey level: nothing to separate
        return float(levels[hist.argmax()])
    return float(levels[between.argmax()])


def otsu(gray: np.ndarray) -> np.ndarray:
    gray = np.asarray(gray)
    return gray <= otsu_threshold(gray) if np.ptp(gray) > 0 else np.zeros(gray.shape, bool)


def _box_sums(integral: np.ndarray, half: int, shape) -> np.ndarray:
    """Sum over the window [y-half, y+half] x [x-half, x+half] (clipped to the image) for every pixel."""
    h, w = shape
    y0 = np.clip(np.arange(h) - half, 0, h)
    y1 = np.clip(np.arange(h) + half + 1, 0, h)
    x0 = np.clip(np.arange(w) - half, 0, w)
    x1 = np.clip(np.arange(w) + half + 1, 0, w)
    return (integral[y1][:, x1] - integral[y0][:, x1]) - (integral[y1][:, x0] - integral[y0][:, x0])


def default_window(shape) -> int:
    """A window when the text size is unknown: about two lines of body text on a page scanned whole."""
    return max(15, min(shape) // 25) | 1


def sauvola(gray: np.ndarray, window: int = None, k: float = SAUVOLA_K, r: float = SAUVOLA_R) -> np.ndarray:
    """Ink where gray < mean * (1 + k * (std / r - 1)) over a window x window neighbourhood (integral images).

    The window should span a few text lines: smaller windows hollow out bold strokes, larger ones stop adapting to
    uneven lighting.
    """
    gray = np.asarray(gray, dtype=np.float64)
    if gray.size == 0:
        return np.zeros(gray.shape, bool)
    half = (window or default_window(gray.shape)) // 2
    shape = gray.shape
    integral = np.zeros((shape[0] + 1, shape[1] + 1))
    np.cumsum(np.cumsum(gray, axis=0), axis=1, out=integral[1:, 1:])
    sums = _box_sums(integral, half, shape)
    np.cumsum(np.cumsum(gray * gray, axis=0), axis=1, out=integral[1:, 1:])
    squares = _box_sums(integral, half, shape)
    del integral
    counts = np.outer(
        np.minimum(np.arange(shape[0]) + half + 1, shape[0]) - np.maximum(np.arange(shape[0]) - half, 0),
        np.minimum(np.arange(shape[1]) + half + 1, shape[1]) - np.maximum(np.arange(shape[1]) - half, 0))
    mean = np.divide(sums, counts, out=sums)  # in place: full pages make these arrays large
    variance = np.divide(squares, counts, out=squares)
    variance -= mean * mean
    std = np.sqrt(np.maximum(variance, 0.0, out=variance), out=variance)
    return gray < mean * (1.0 + k * (std / r - 1.0))


def binarize(gray: np.ndarray, method: str = "sauvola", window: int = None) -> np.ndarray:
    if method == "sauvola":
        return sauvola(gray, window)
    if method == "otsu":
        return otsu(gray)
    raise ValueError(f"unknown binarization {method!r}: use 'sauvola' or 'otsu'")
