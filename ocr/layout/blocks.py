"""Connected components of the ink, sorted into text, small marks and non-text, then grouped into text blocks.

Sizes are relative to the text height: the median height of the character-sized components.
Blocks come out in reading order (recursive XY-cut): columns left to right, top to bottom within a column, and a
full-width block (a heading) ends the columns above it.
"""
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
from scipy import ndimage

MIN_TEXT_HEIGHT = 5  # pixels: components mostly smaller than this are noise, not readable text
SMALL = 0.4  # components no larger than this (dots, commas, specks) don't shape blocks or lines
TALL = 5.0  # taller than this (or twice as wide and not a line's height): a picture, frame or vertical rule
RULE_LENGTH, RULE_THICKNESS = 4.0, 0.5  # a horizontal rule: at least this long and at most this thick...
DASH_GAP = 1.0  # ...possibly dashed or broken, with gaps up to this wide between its pieces
GUTTER = 1.5  # a column gutter is at least this wide...
GUTTER_SHORT = 4.0  # ...or this wide between blocks less than SHORT_BLOCK high, so word gaps don't split lines
SHORT_BLOCK = 5.0
PARAGRAPH_GAP = 0.9  # blank rows separate blocks in a column when at least this high (in text heights)...
LINE_BLANK = 0.3  # ...and at least the line pitch less this: more than the blank between lines of any spacing


@dataclass
class Components:
    labels: np.ndarray  # int32 image, 0 = paper, i + 1 = component i
    boxes: np.ndarray  # (n, 4) int: x0, y0, x1, y1, exclusive ends

    @property
    def heights(self):
        return self.boxes[:, 3] - self.boxes[:, 1]

    @property
    def widths(self):
        return self.boxes[:, 2] - self.boxes[:, 0]


def components(mask: np.ndarray) -> Components:
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    slices = ndimage.find_objects(labels)
    boxes = np.array([(s[1].start, s[0].start, s[1].stop, s[0].stop) for s in slices], dtype=np.int64).reshape(n, 4)
    return Components(labels, boxes)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def text_height(comps: Components) -> Optional[float]:
    """Median height of the character-sized components, None when there is no text. The median is weighted by box
    area (width capped at 3 heights, for rules), so that many specks of noise do not outvote fewer letters."""
    h, w = comps.heights, comps.widths
    candidate = (h >= 3) & (w >= 2) & (h <= 0.2 * max(comps.labels.shape))
    if not candidate.any():
        return None
    h, w = h[candidate], w[candidate]
    weights = h * np.minimum(w, 3 * h)
    first = _weighted_median(h, weights)
    # Second look without what the first estimate calls specks or pictures.
    kept = (h >= SMALL * first) & (h <= TALL * first)
    height = _weighted_median(h[kept], weights[kept]) if kept.any() else first
    return height if height >= MIN_TEXT_HEIGHT else None


def _runs(values: np.ndarray, max_step: float) -> List[np.ndarray]:
    """Positions into `values` grouped into runs where sorted neighbours are at most max_step apart."""
    order = np.argsort(values, kind="stable")
    breaks = np.flatnonzero(np.diff(values[order]) > max_step) + 1
    return np.split(order, breaks)


def _rules(boxes: np.ndarray, height: float) -> np.ndarray:
    """Which boxes are pieces of horizontal rules: thin pieces in a row, together at least RULE_LENGTH long and
    mostly dashes rather than dots (a row of i-dots is not a rule)."""
    h, w = boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0]
    thin = np.flatnonzero(h <= RULE_THICKNESS * height)
    rule = np.zeros(len(boxes), bool)
    if len(thin) == 0:
        return rule
    for row in _runs((boxes[thin, 1] + boxes[thin, 3]) / 2, height / 4):
        pieces = boxes[thin[row]]
        order = np.argsort(pieces[:, 0])
        right = np.maximum.accumulate(pieces[order, 2])
        breaks = np.flatnonzero(pieces[order[1:], 0] - right[:-1] > DASH_GAP * height) + 1
        for run in np.split(order, breaks):  # pieces close enough to be one broken rule
            members = thin[row[run]]
            extent = pieces[run, 2].max() - pieces[run, 0].min()
            dashes = w[members] >= 2 * h[members]
            if extent >= RULE_LENGTH * height and w[members][dashes].sum() >= extent / 2:
                rule[members] = True
    return rule


def classify(comps: Components, height: float):
    """Indices of (text, small) components; the rest (pictures, frames, rules) is left out."""
    h, w = comps.heights, comps.widths
    small = np.maximum(h, w) < SMALL * height
    rule = _rules(comps.boxes, height)
    huge = (h > TALL * height) | ((w > 2 * TALL * height) & (h > 2 * height) & ~rule)
    text = ~small & ~rule & ~huge
    return np.flatnonzero(text), np.flatnonzero(small)


def blanks(starts: np.ndarray, ends: np.ndarray, min_gap: float):
    """(start, end) of the blank intervals at least min_gap long between the covered intervals [starts, ends)."""
    order = np.argsort(starts)
    starts, ends = starts[order], np.maximum.accumulate(ends[order])
    gap_starts, gap_ends = ends[:-1], starts[1:]
    keep = gap_ends - gap_starts >= min_gap
    return list(zip(gap_starts[keep], gap_ends[keep]))


def _vertical_cut(boxes: np.ndarray, height: float) -> Optional[float]:
    """The x of the widest column gutter through all of these boxes, or None."""
    if len(boxes) < 2:
        return None
    short = boxes[:, 3].max() - boxes[:, 1].min() < SHORT_BLOCK * height
    gaps = blanks(boxes[:, 0], boxes[:, 2], (GUTTER_SHORT if short else GUTTER) * height)
    if not gaps:
        return None
    start, end = max(gaps, key=lambda g: g[1] - g[0])
    return (start + end) / 2


def _both_sides(boxes: np.ndarray, x: float) -> bool:
    """Whether there is text left and right of x: a strip with columns, not a block beside another."""
    return bool((boxes[:, 2] <= x).any() and (boxes[:, 0] >= x).any())


def line_pitch(boxes: np.ndarray, height: float) -> float:
    """The usual distance between the centres of consecutive lines, from components stacked in narrow columns;
    0 when there is only one line."""
    if len(boxes) < 2:
        return 0.0
    strip = (boxes[:, 0] + boxes[:, 2]) // max(2, round(4 * height))
    centre = (boxes[:, 1] + boxes[:, 3]) / 2
    order = np.lexsort((centre, strip))
    steps = np.diff(centre[order])[np.diff(strip[order]) == 0]
    steps = np.round(steps[steps > 0.6 * height]).astype(np.int64)  # components of one line are closer than that
    if len(steps) == 0:
        return 0.0
    # The most common step, not the median: paragraph gaps and headings make many large steps on short pages.
    counts = ndimage.uniform_filter1d(np.bincount(steps).astype(np.float64), max(3, round(height / 4)) | 1)
    return float(counts.argmax())


def xy_cut(boxes: np.ndarray, height: float, index: np.ndarray = None, pitch: float = None) -> List[np.ndarray]:
    """Group boxes into blocks in reading order; returns index arrays into `boxes`."""
    index = np.arange(len(boxes)) if index is None else index
    pitch = line_pitch(boxes, height) if pitch is None else pitch
    if len(index) == 0:
        return []
    part = boxes[index]
    x = _vertical_cut(part, height)
    if x is not None:
        left = part[:, 0] < x
        return xy_cut(boxes, height, index[left], pitch) + xy_cut(boxes, height, index[~left], pitch)
    gaps = blanks(part[:, 1], part[:, 3], max(PARAGRAPH_GAP * height, pitch - LINE_BLANK * height))
    if not gaps:
        return [index]
    cuts = np.array([(a + b) / 2 for a, b in gaps])
    strip_of = np.searchsorted(cuts, part[:, 1])
    strips = [index[strip_of == s] for s in range(len(cuts) + 1)]
    # Paragraph gaps that happen to line up across columns must not cut the columns into strips: a strip with
    # columns is joined again to its neighbour if they share a gutter, before cutting them into columns.
    merged = [strips[0]]
    for strip in strips[1:]:
        joined = np.concatenate([merged[-1], strip])
        x = _vertical_cut(boxes[joined], height)
        if x is not None and (_both_sides(boxes[merged[-1]], x) or _both_sides(boxes[strip], x)):
            merged[-1] = joined
        else:
            merged.append(strip)
    if len(merged) == 1:  # cannot happen (the whole has no gutter), but never recurse on the same boxes
        return [index]
    return [block for strip in merged for block in xy_cut(boxes, height, strip, pitch)]
