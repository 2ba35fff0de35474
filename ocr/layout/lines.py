"""Text lines inside one block of a straightened page.

Line centres are the peaks of a smoothed profile of where the components' vertical centres are (weighted by
width, so a short line beside a long one still makes its own peak; a component taller than a letter is spread over
its rows like its ink, so two lines touching through a descender still make two peaks). Each component goes to
the line its vertical centre falls in; one reaching well across a valley (a descender touching the ascender below)
is cut there. A line is then broken at gaps too wide for a word space, and at gutters: gaps at the same place in
several consecutive lines (columns the block finder missed because a caption or a picture interrupts the gutter);
the pieces are then chained into columns (`columns`). Small marks (dots, commas) join the line they sit in.
"""
from dataclasses import dataclass, field
from typing import List

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .blocks import Components, blanks

SMOOTHING = 0.25  # sigma of the profile smoothing, in text heights
MIN_PITCH = 0.8  # two peaks closer than this are one line
VALLEY = 0.5  # a valley must fall below this share of the lower peak to separate lines
CUT_REACH = 0.5  # a component is cut at a valley when it reaches this far on both sides...
CUT_HEIGHT = 1.3  # ...and is at least this tall
LINE_BREAK = 4.0  # a horizontal gap this wide ends a line (wider than after a paragraph number)
GUTTER_GAP = 2.0  # a blank this wide (word spaces of loose justified lines reach 1.5)...
GUTTER_LINES = 3  # ...through this many consecutive lines...
GUTTER_TEXT = 4.0  # ...with text at least this wide on both sides (not the page numbers of a contents page) is a gutter
MIN_LINE_HEIGHT = 0.6  # lines of ink lower than this (and short) are blots, not text
SMALL_REACH = (1.0, 0.3)  # how far (x, y) outside a line's box a small mark may sit and still join it
PADDING = 0.3  # added around each line's ink
BIN = 1.0  # width of the columns of the line outline, in text heights


@dataclass
class LineParts:
    boxes: List[tuple] = field(default_factory=list)  # the ink boxes of the line: components or pieces of them
    baseline_y: float = 0.0
    row: int = 0  # pieces of one line broken at a gutter share their row

    @property
    def box(self):
        b = np.array(self.boxes)
        return b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()


def _peaks(profile: np.ndarray, height: float) -> List[int]:
    inner = (profile[1:-1] > profile[:-2]) & (profile[1:-1] >= profile[2:])
    peaks = [i + 1 for i in np.flatnonzero(inner)]
    if len(profile) > 1 and profile[0] > profile[1]:
        peaks.insert(0, 0)
    if len(profile) > 1 and profile[-1] > profile[-2]:
        peaks.append(len(profile) - 1)
    peaks = [p for p in peaks if profile[p] > 1e-6 * profile.max()]
    merged = True
    while merged and len(peaks) > 1:  # join neighbours too close or without a deep valley between, keep the higher
        merged = False
        for i in range(len(peaks) - 1):
            a, b = peaks[i], peaks[i + 1]
            if b - a < MIN_PITCH * height or profile[a:b + 1].min() > VALLEY * min(profile[a], profile[b]):
                peaks[i:i + 2] = [a if profile[a] >= profile[b] else b]
                merged = True
                break
    return peaks


def _valleys(profile: np.ndarray, peaks: List[int]) -> np.ndarray:
    """The lowest point between each pair of neighbouring peaks (the middle of a flat bottom)."""
    out = []
    for a, b in zip(peaks, peaks[1:]):
        between = profile[a:b + 1]
        lowest = np.flatnonzero(between <= between.min() + 1e-9)
        out.append(a + (lowest[0] + lowest[-1]) / 2)
    return np.array(out)


def _cut(comps: Components, i: int, cuts: np.ndarray) -> List[tuple]:
    """The ink boxes of component i between consecutive cut rows (page coordinates)."""
    x0, y0, x1, y1 = comps.boxes[i]
    ink = comps.labels[y0:y1, x0:x1] == i + 1
    pieces = []
    for top, bottom in zip(np.r_[y0, cuts], np.r_[cuts, y1]):
        rows = ink[int(top) - y0:int(bottom) - y0]
        ys, xs = np.nonzero(rows)
        if len(ys):
            pieces.append((x0 + xs.min(), int(top) + ys.min(), x0 + xs.max() + 1, int(top) + ys.max() + 1))
    return pieces


def _gutters(rows: List[List[tuple]], height: float) -> List[List[tuple]]:
    """Per line, its gaps that are column gutters: a blank GUTTER_GAP wide through GUTTER_LINES consecutive lines,
    with wide text both sides (word spaces of justified text do not line up for long)."""
    candidates = []
    for boxes in rows:
        left, right = min(b[0] for b in boxes), max(b[2] for b in boxes)
        ink = np.array(boxes)
        candidates.append([g for g in blanks(ink[:, 0], ink[:, 2], GUTTER_GAP * height)
                           if g[0] - left >= GUTTER_TEXT * height and right - g[1] >= GUTTER_TEXT * height])
    shared = GUTTER_GAP * height
    gutters = [set() for _ in rows]
    for first in range(len(rows) - GUTTER_LINES + 1):
        for gap in candidates[first]:
            chain, (lo, hi) = [gap], gap
            for row in range(first + 1, first + GUTTER_LINES):
                best = max(candidates[row], key=lambda g: min(hi, g[1]) - max(lo, g[0]), default=None)
                if best is None or min(hi, best[1]) - max(lo, best[0]) < shared:
                    break
                chain.append(best)
                lo, hi = max(lo, best[0]), min(hi, best[1])
            else:
                for row, g in enumerate(chain, start=first):
                    gutters[row].add(g)
    return [sorted(g) for g in gutters]


def _break_line(boxes: List[tuple], gutters: List[tuple], height: float) -> List[List[tuple]]:
    """A line's boxes, broken at its gutters and at gaps too wide for a word space."""
    boxes, ends = sorted(boxes), {g[1] for g in gutters}
    groups, right = [[boxes[0]]], boxes[0][2]
    for b in boxes[1:]:
        if b[0] - right >= LINE_BREAK * height or (b[0] in ends and b[0] > right):
            groups.append([])
        groups[-1].append(b)
        right = max(right, b[2])
    return groups


def _baseline(boxes: List[tuple], height: float) -> float:
    """Median bottom of the letter-sized boxes: descenders are a minority."""
    bottoms = [b[3] for b in boxes if b[3] - b[1] >= 0.5 * height] or [b[3] for b in boxes]
    return float(np.median(bottoms))


def _profile(comps: Components, block: np.ndarray, top: int, bottom: int, height: float) -> np.ndarray:
    """How much text is centred on each row of the block: every component adds its width, at its centre if it is
    of letter height, spread like its ink over its rows if taller (a heading letter, two lines touching)."""
    profile = np.zeros(bottom - top)
    boxes = comps.boxes[block]
    widths = (boxes[:, 2] - boxes[:, 0]).astype(np.float64)
    tall = boxes[:, 3] - boxes[:, 1] >= CUT_HEIGHT * height
    centres = ((boxes[~tall, 1] + boxes[~tall, 3]) // 2 - top).astype(np.int64)
    np.add.at(profile, centres, widths[~tall])
    for i, (x0, y0, x1, y1), width in zip(block[tall], boxes[tall], widths[tall]):
        rows = (comps.labels[y0:y1, x0:x1] == i + 1).sum(axis=1)
        profile[y0 - top:y1 - top] += width * rows / rows.sum()
    return profile


def find_lines(comps: Components, block: np.ndarray, height: float) -> List[LineParts]:
    """Lines of one block (indices of its text components) in reading order: top to bottom, then left to right."""
    boxes = comps.boxes[block]
    top, bottom = boxes[:, 1].min(), boxes[:, 3].max()
    profile = gaussian_filter1d(_profile(comps, block, top, bottom, height), max(1.0, SMOOTHING * height),
                                mode="constant")
    valleys = top + _valleys(profile, _peaks(profile, height))

    bands = [[] for _ in range(len(valleys) + 1)]
    for i, box in zip(block, boxes):
        reach = CUT_REACH * height
        cuts = valleys[(valleys > box[1] + reach) & (valleys < box[3] - reach)]
        pieces = _cut(comps, i, np.round(cuts)) if len(cuts) and box[3] - box[1] >= CUT_HEIGHT * height else [box]
        for piece in pieces:
            bands[np.searchsorted(valleys, (piece[1] + piece[3]) / 2)].append(tuple(int(v) for v in piece))
    rows = [band for band in bands if band]
    lines = []
    for row, (band, gutters) in enumerate(zip(rows, _gutters(rows, height))):
        lines += [LineParts(g, _baseline(g, height), row) for g in _break_line(band, gutters, height)]
    return [line for line in lines if _is_text(line.box, height)]


def columns(lines: List[LineParts]) -> List[List[LineParts]]:
    """A block's lines, as columns in reading order, where gutters broke some of its lines; else the block as it is.

    A piece joins the column of the piece in the line above when each is the other's only horizontal overlap.
    A column is read before another when it lies left of it in the lines they share, or, sharing none, above it
    and overlapping it horizontally; otherwise by its first line, then from the left.
    """
    by_row = {}
    for line in lines:
        by_row.setdefault(line.row, []).append(line)
    if all(len(r) == 1 for r in by_row.values()):
        return [lines]
    rows = sorted(by_row)
    column_of = {id(line): i for i, line in enumerate(by_row[rows[0]])}
    chains = [[line] for line in by_row[rows[0]]]
    for above, below in zip(rows, rows[1:]):
        for line in by_row[below]:
            over = [a for a in by_row[above] if _x_overlap(a.box, line.box)]
            if len(over) == 1 and sum(_x_overlap(over[0].box, b.box) for b in by_row[below]) == 1 \
                    and above + 1 == below:
                column_of[id(line)] = column_of[id(over[0])]
                chains[column_of[id(line)]].append(line)
            else:
                column_of[id(line)] = len(chains)
                chains.append([line])
    return _reading_order(chains)


def _x_overlap(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0])


def _before(a: List[LineParts], b: List[LineParts]) -> bool:
    b_rows = {line.row: line for line in b}
    shared = [(line, b_rows[line.row]) for line in a if line.row in b_rows]
    if shared:
        return shared[0][0].box[0] < shared[0][1].box[0]
    hull_a = (min(l.box[0] for l in a), 0, max(l.box[2] for l in a), 0)
    hull_b = (min(l.box[0] for l in b), 0, max(l.box[2] for l in b), 0)
    return _x_overlap(hull_a, hull_b) and a[-1].row < b[0].row


def _reading_order(chains: List[List[LineParts]]) -> List[List[LineParts]]:
    """Topological order of `_before`, ties taken by first line then left edge (Kahn's algorithm)."""
    key = [(c[0].row, c[0].box[0]) for c in chains]
    after = [[j for j in range(len(chains)) if j != i and _before(chains[i], chains[j])] for i in range(len(chains))]
    waiting = [0] * len(chains)
    for targets in after:
        for j in targets:
            waiting[j] += 1
    order, ready = [], [i for i in range(len(chains)) if waiting[i] == 0]
    while ready:
        i = min(ready, key=lambda k: key[k])
        ready.remove(i)
        order.append(i)
        for j in after[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                ready.append(j)
    if len(order) < len(chains):  # contradictory placements: first line, then left edge
        order = sorted(range(len(chains)), key=lambda k: key[k])
    return [chains[i] for i in order]


def _is_text(box, height: float) -> bool:
    """False for a lone blot lower than a small letter and not long: noise, or a stray mark."""
    return box[3] - box[1] >= MIN_LINE_HEIGHT * height or box[2] - box[0] >= 2 * height


def attach_small(lines: List[LineParts], small_boxes: np.ndarray, height: float) -> None:
    """Give each small mark to the line whose box (widened by SMALL_REACH) holds its centre; the rest is noise."""
    if not lines or len(small_boxes) == 0:
        return
    line_boxes = np.array([line.box for line in lines], dtype=np.float64)
    reach_x, reach_y = SMALL_REACH[0] * height, SMALL_REACH[1] * height
    cx = (small_boxes[:, 0] + small_boxes[:, 2]) / 2
    cy = (small_boxes[:, 1] + small_boxes[:, 3]) / 2
    inside = ((cx[:, None] >= line_boxes[None, :, 0] - reach_x) & (cx[:, None] < line_boxes[None, :, 2] + reach_x)
              & (cy[:, None] >= line_boxes[None, :, 1] - reach_y) & (cy[:, None] < line_boxes[None, :, 3] + reach_y))
    distance = np.abs(cy[:, None] - (line_boxes[None, :, 1] + line_boxes[None, :, 3]) / 2)
    distance[~inside] = np.inf
    for mark, line in enumerate(distance.argmin(axis=1)):
        if np.isfinite(distance[mark, line]):
            lines[line].boxes.append(tuple(int(v) for v in small_boxes[mark]))


def outline(line: LineParts, height: float):
    """(box, polygon) of a line: the box around its ink and the upper/lower envelope of its boxes, both padded."""
    boxes = np.array(line.boxes)
    pad = max(1, round(PADDING * height))
    x0, y0, x1, y1 = line.box
    edges = np.r_[np.arange(x0, x1, max(2, round(BIN * height))), x1]
    tops, bottoms = np.full(len(edges) - 1, np.nan), np.full(len(edges) - 1, np.nan)
    for k, (left, right) in enumerate(zip(edges, edges[1:])):
        over = boxes[(boxes[:, 0] < right) & (boxes[:, 2] > left)]
        if len(over):
            tops[k], bottoms[k] = over[:, 1].min(), over[:, 3].max()
    columns, known = np.arange(len(tops)), np.flatnonzero(~np.isnan(tops))
    tops, bottoms = np.interp(columns, known, tops[known]), np.interp(columns, known, bottoms[known])  # word gaps
    # No notches: each column reaches as far as its neighbours, and at least a letter's height above the baseline
    # (a column holding only a full stop would otherwise dip to the baseline).
    tops = np.minimum.reduce([tops, np.r_[tops[0], tops[:-1]], np.r_[tops[1:], tops[-1]]])
    bottoms = np.maximum.reduce([bottoms, np.r_[bottoms[0], bottoms[:-1]], np.r_[bottoms[1:], bottoms[-1]]])
    tops = np.floor(np.clip(np.minimum(tops, line.baseline_y - height), y0, None)) - pad
    bottoms = np.ceil(np.clip(np.maximum(bottoms, line.baseline_y), None, y1)) + pad
    lefts, rights = edges[:-1].copy(), edges[1:].copy()
    lefts[0], rights[-1] = x0 - pad, x1 + pad
    upper = [p for l, r, t in zip(lefts, rights, tops) for p in ((l, t), (r, t))]
    lower = [p for l, r, b in zip(lefts, rights, bottoms) for p in ((l, b), (r, b))]
    return (x0 - pad, y0 - pad, x1 + pad, y1 + pad), _simplify(upper + lower[::-1])


def _simplify(points):
    """Drop repeated points and the middle of three points on one horizontal or vertical line."""
    out = []
    for p in points:
        p = (int(p[0]), int(p[1]))
        if out and out[-1] == p:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
        else:
            out.append(p)
    return out
