"""Page analysis: find the text blocks and lines of a page image, in reading order.

    from ocr.layout import segment_page
    page = segment_page(PIL.Image.open("page.png"))
    for region in page.regions:
        for line in region.lines:
            crop = page.line_image(line)  # straightened, for the recogniser

Steps: binarize (Sauvola or Otsu) -> estimate and undo the skew -> connected components, minus specks, pictures
and rules -> blocks by whitespace (XY-cut: columns, paragraphs, marginal notes) -> lines per block. Very large
pages are analysed at a reduced resolution; every coordinate returned is in the original page's pixels.
"""
from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np
from PIL import Image, ImageDraw

from ..document import Line, Page, Region
from .binarize import binarize, default_window
from .blocks import classify, components, text_height, xy_cut
from .deskew import Rotation, estimate_skew
from .lines import attach_small, columns, find_lines, outline

__all__ = ["SegmentedPage", "segment_page"]

ANALYSIS_MAX_SIDE = 4000  # larger pages are scaled down to this for the analysis
WINDOW_LINES = 4.0  # Sauvola window in text heights (about two lines of body text)
MIN_ROTATION = 0.05  # degrees: smaller skews are left alone rather than resampling the page


@dataclass
class SegmentedPage:
    width: int
    height: int
    regions: List[Region] = field(default_factory=list)
    angle: float = 0.0  # skew found, degrees counter-clockwise (PIL's convention); lines are read after undoing it
    paper: int = 255  # the paper's grey level, used to fill outside line polygons and rotated corners
    _image: Image.Image = field(default=None, repr=False, compare=False)
    _rotation: Rotation = field(default=None, repr=False, compare=False)
    # line id -> (box, polygon) on the straightened page at full resolution
    _straight: Dict[str, tuple] = field(default_factory=dict, repr=False, compare=False)
    _straightened: Image.Image = field(default=None, repr=False, compare=False)

    @property
    def lines(self) -> List[Line]:
        return [line for region in self.regions for line in region.lines]

    def to_page(self, **kwargs) -> Page:
        return Page(self.width, self.height, self.regions, **kwargs)

    def straightened(self) -> Image.Image:
        """The whole page with the skew undone (mode "L"), at the original resolution."""
        if self._straightened is None:
            gray = self._image.convert("L")
            self._straightened = gray if self.angle == 0 else self._rotation.straighten(gray, fill=self.paper)
        return self._straightened

    def line_image(self, line: Line) -> Image.Image:
        """The line cut from the straightened page (mode "L"); paper colour outside its polygon."""
        if line.id not in self._straight:
            raise ValueError(f"line {line.id!r} was not found on this page")
        box, polygon = self._straight[line.id]
        crop = self.straightened().crop(box)
        mask = Image.new("L", crop.size, 0)
        ImageDraw.Draw(mask).polygon([(x - box[0], y - box[1]) for x, y in polygon], fill=255)
        return Image.composite(crop, Image.new("L", crop.size, self.paper), mask)


def _paper_level(gray: np.ndarray, ink: np.ndarray) -> int:
    background = gray[~ink]
    return int(np.median(background)) if background.size else 255


def _ink(gray: np.ndarray, binarization: str):
    """(ink mask, its components, text height or None); Sauvola's window is fitted to the text size found."""
    ink = binarize(gray, binarization)
    comps = components(ink)
    text_size = text_height(comps)
    if binarization == "sauvola" and text_size:
        window = max(15, round(WINDOW_LINES * text_size)) | 1
        if abs(window - default_window(gray.shape)) > 0.3 * window:  # the first guess was far off: do it again
            ink = binarize(gray, binarization, window)
            comps = components(ink)
            text_size = text_height(comps) or text_size
    return ink, comps, text_size


def _skew(comps, text_size: float) -> float:
    """The skew of the text components alone (no specks, rules or pictures), 0 when negligible."""
    text_ids, _ = classify(comps, text_size)
    keep = np.zeros(len(comps.boxes) + 1, bool)
    keep[text_ids + 1] = True
    angle = estimate_skew(keep[comps.labels])
    return angle if abs(angle) >= MIN_ROTATION else 0.0


def segment_page(image: Image.Image, binarization: str = "sauvola", deskew: bool = True) -> SegmentedPage:
    """Blocks and lines of a page image, in reading order, with coordinates in the image's pixels."""
    if binarization not in ("sauvola", "otsu"):
        raise ValueError(f"unknown binarization {binarization!r}: use 'sauvola' or 'otsu'")
    width, height = image.size
    scale = min(1.0, ANALYSIS_MAX_SIDE / max(width, height))
    gray_image = image.convert("L")
    if scale < 1.0:
        gray_image = gray_image.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.BOX)
    gray = np.asarray(gray_image)

    ink, comps, text_size = _ink(gray, binarization)
    page = SegmentedPage(width, height, paper=_paper_level(gray, ink), _image=image,
                         _rotation=Rotation(0.0, width, height))
    if not text_size:
        return page
    if deskew:
        page.angle = _skew(comps, text_size)
    if page.angle:
        page._rotation = Rotation(page.angle, width, height)
        mask = Image.fromarray(ink.astype(np.uint8) * 255)
        ink = np.asarray(page._rotation.straighten(mask, scale, fill=0, resample=Image.BILINEAR)) >= 128
        comps = components(ink)

    text_ids, small_ids = classify(comps, text_size)
    blocks = [column for block in xy_cut(comps.boxes[text_ids], text_size)
              for column in columns(find_lines(comps, text_ids[block], text_size))]
    attach_small([line for lines in blocks for line in lines], comps.boxes[small_ids], text_size)
    _add_regions(page, [lines for lines in blocks if lines], ink.shape, text_size)
    return page


def _add_regions(page: SegmentedPage, blocks, analysis_shape, text_size: float) -> None:
    """Regions and lines in page coordinates from the lines found on the straightened analysis image."""
    rotation = page._rotation
    sx, sy = rotation.out_width / analysis_shape[1], rotation.out_height / analysis_shape[0]

    def on_page(points) -> np.ndarray:  # analysis (straightened, maybe scaled down) -> original page pixels
        p = np.round(rotation.to_source(np.asarray(points, dtype=np.float64) * (sx, sy)))
        return np.clip(p, 0, (page.width, page.height)).astype(int)

    for lines in blocks:
        region = Region((0, 0, 0, 0), id=f"r{len(page.regions) + 1}")
        for parts in lines:
            (x0, y0, x1, y1), polygon = outline(parts, text_size)
            line_id = f"{region.id}l{len(region.lines) + 1}"
            straight_box = (max(0, round(x0 * sx)), max(0, round(y0 * sy)),
                            min(rotation.out_width, round(x1 * sx)), min(rotation.out_height, round(y1 * sy)))
            page._straight[line_id] = (straight_box, [(x * sx, y * sy) for x, y in polygon])
            corners = on_page([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
            box = (*corners.min(axis=0), *corners.max(axis=0))
            ink_left, ink_right = parts.box[0], parts.box[2]
            baseline = on_page([(ink_left, parts.baseline_y), (ink_right, parts.baseline_y)])
            region.lines.append(Line(box, on_page(polygon).tolist(), baseline.tolist(), id=line_id))
        boxes = np.array([line.box for line in region.lines])
        region.box = tuple(int(v) for v in (*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0)))
        page.regions.append(region)
