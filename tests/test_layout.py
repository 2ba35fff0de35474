"""Page analysis on generated pages whose line boxes are known: lines, blocks, reading order, skew, binarization."""
import math

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageDraw

import ocr.layout
from ocr.layout import segment_page
from ocr.layout.binarize import otsu, otsu_threshold, sauvola
from ocr.layout.deskew import estimate_skew
from tests.fixtures import WORDS, page_image, render

PAPER = 235


def ink_box(image: Image.Image, offset=(0, 0)):
    """The box around the dark pixels of a rendered line, shifted by offset."""
    x0, y0, x1, y1 = ImageChops.invert(image).point(lambda v: 255 if v > 128 else 0).getbbox()
    return (x0 + offset[0], y0 + offset[1], x1 + offset[0], y1 + offset[1])


def compose(placements, size):
    """A page with `text` rendered at each (text, x, y); overlaps keep the darker ink. Returns (image, ink boxes)."""
    page = Image.new("L", size, PAPER)
    boxes = []
    for text, x, y in placements:
        line = render(text, 40)
        area = (x, y, x + line.width, y + line.height)
        page.paste(ImageChops.darker(page.crop(area), line), area)
        boxes.append(ink_box(line, (x, y)))
    return page, boxes


def iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def matched_order(page, true_boxes):
    """For each found line in reading order, the index of the true box it overlaps with IoU >= 0.5 (None if none)."""
    order = []
    for line in page.lines:
        scores = [iou(line.box, box) for box in true_boxes]
        best = int(np.argmax(scores))
        order.append(best if scores[best] >= 0.5 else None)
    return order


def test_plain_page_lines_in_order_with_ids():
    texts = WORDS[:6]
    image, boxes = page_image(texts)
    page = segment_page(image)
    assert page.angle == 0.0
    assert [r.id for r in page.regions] == ["r1"]
    assert [line.id for line in page.lines] == [f"r1l{i}" for i in range(1, 7)]
    assert matched_order(page, boxes) == list(range(6))  # fixture boxes include the render margins
    for line in page.lines:
        x0, y0, x1, y1 = line.box
        assert line.text == ""
        assert len(line.polygon) >= 4 and all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in line.polygon)
        (bx0, by0), (bx1, by1) = line.baseline
        assert by0 == by1 and y0 < by0 < y1 and bx0 < bx1
    region = page.regions[0]
    assert region.box == (min(l.box[0] for l in page.lines), page.lines[0].box[1],
                          max(l.box[2] for l in page.lines), page.lines[-1].box[3])
    assert page.to_page().lines == page.lines


def test_columns_read_one_after_the_other_and_full_width_lines_break_them():
    def columns(top, rows, first_word):
        left = [(WORDS[(first_word + i) % len(WORDS)], 40, top + y) for i, y in enumerate(rows)]
        right = [(WORDS[(first_word + 5 + i) % len(WORDS)], 420, top + y) for i, y in enumerate(rows)]
        return left + right

    # Both upper columns have a paragraph gap at the same height: it must not cut them into strips read across.
    upper = columns(90, [0, 30, 60, 100, 130, 160], 0)
    lower = columns(370, [0, 30, 60], 3)
    heading = [("a heading that runs across both columns of the page", 60, 20)]
    middle = [("and a full-width line between the upper and the lower columns", 40, 300)]
    image, boxes = compose(heading + upper + middle + lower, (800, 480))
    page = segment_page(image)
    # heading; upper left, upper right; the full-width line; lower left, lower right
    assert matched_order(page, boxes) == list(range(len(boxes)))
    regions = [[matched_order(page, boxes)[page.lines.index(line)] for line in r.lines] for r in page.regions]
    assert [0] in regions and [13] in regions
    assert all(r[-1] <= 6 or r[0] >= 7 for r in regions if max(r) <= 12)  # no region mixes the upper columns


def test_a_caption_across_the_gutter_does_not_join_the_columns():
    # The caption sits in the gutter, so no straight gutter runs the whole height and no blank row crosses the page:
    # the blocks cannot be cut apart, and the columns are found from the blanks lined up in the lines.
    rows = [20 + 30 * i for i in range(9)]
    narrow = range(2, 7)  # lines beside the caption (and one above and below it) leave it room
    left = [("a line of text" if i in narrow else "the quick brown fox jumps", 30, y) for i, y in enumerate(rows)]
    caption = [(text, 300, rows[i]) for i, text in zip((3, 4, 5), ("caption ab", "caption cd", "caption ef"))]
    right = [("seven apples" if i in narrow else "jumps over 12 dogs again", 560 if i in narrow else 400, y)
             for i, y in enumerate(rows)]
    image, boxes = compose(left + caption + right, (760, 300))
    page = segment_page(image)
    assert matched_order(page, boxes) == list(range(len(boxes)))  # down the left column, the caption, the right


def turned_box(box, angle, size, turned_size):
    """The box around `box` after PIL's rotate(angle, expand=True): counter-clockwise about the centre."""
    a = math.radians(angle)
    (w, h), (tw, th) = size, turned_size
    xs, ys = [], []
    for x, y in ((box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3])):
        xs.append(tw / 2 + (x - w / 2) * math.cos(a) + (y - h / 2) * math.sin(a))
        ys.append(th / 2 - (x - w / 2) * math.sin(a) + (y - h / 2) * math.cos(a))
    return min(xs), min(ys), max(xs), max(ys)


@pytest.mark.parametrize("angle", [2.5, -3.0])
def test_skewed_page_angle_found_and_lines_straightened(angle):
    texts = WORDS[:8]
    flat, flat_boxes = compose([(t, 130, 120 + 60 * i) for i, t in enumerate(texts)], (900, 800))
    image = flat.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=PAPER)
    boxes = [turned_box(box, angle, flat.size, image.size) for box in flat_boxes]

    page = segment_page(image)
    assert abs(page.angle - angle) <= 0.3
    assert matched_order(page, boxes) == list(range(8))
    for line, (x0, y0, x1, y1) in zip(page.lines, flat_boxes):
        (bx0, by0), (bx1, by1) = line.baseline
        assert abs(math.degrees(math.atan2(by0 - by1, bx1 - bx0)) - angle) <= 0.3  # the baseline follows the text
        crop = page.line_image(line)
        assert crop.mode == "L"
        # Straightened, the crop is about as high as the flat line's ink (plus padding), not as its skewed box.
        assert crop.height <= (y1 - y0) + 12 < line.box[3] - line.box[1]
        assert abs(crop.width - (x1 - x0)) <= 12


def test_noise_specks_are_not_lines():
    image, boxes = page_image(WORDS[:6])
    pixels = np.asarray(image).copy()
    rng = np.random.default_rng(3)
    for _ in range(300):
        y, x, size = rng.integers(0, pixels.shape[0] - 3), rng.integers(0, pixels.shape[1] - 3), rng.integers(1, 4)
        pixels[y:y + size, x:x + size] = 30
    page = segment_page(Image.fromarray(pixels))
    assert matched_order(page, boxes) == list(range(6))


def test_only_specks_is_an_empty_page():
    pixels = np.full((500, 400), PAPER, np.uint8)
    rng = np.random.default_rng(0)
    pixels[rng.integers(0, 500, 200), rng.integers(0, 400, 200)] = 20
    assert segment_page(Image.fromarray(pixels)).regions == []


@pytest.mark.parametrize("pitch", [23, 21])  # 1 px of paper between descenders and ascenders; touching
def test_tight_line_spacing(pitch):
    texts = ["glyph tops and deep descenders", "Kew Gardens, 1885 (July)", "quietly jumping pygmy yaks",
             "fine print, dear sir", "Hooker wrote by post", "yours truly, a quick gypsy"]
    image, boxes = compose([(t, 30, 20 + pitch * i) for i, t in enumerate(texts)], (500, 40 + pitch * len(texts)))
    lines = segment_page(image).lines
    assert matched_order(segment_page(image), boxes) == list(range(len(texts)))
    assert all(line.box[3] - line.box[1] < 2 * pitch for line in lines)


def test_marginal_note_is_its_own_region():
    main = [(WORDS[i], 200, 30 + 30 * i) for i in range(8)]
    note = [("note", 20, 90), ("in margin", 20, 120)]
    image, boxes = compose(main + note, (560, 300))
    page = segment_page(image)
    order = matched_order(page, boxes)
    assert sorted(order) == list(range(10))
    regions = [sorted(order[page.lines.index(l)] for l in r.lines) for r in page.regions]
    assert [8, 9] in regions  # the note, alone
    assert [i for r in regions if r != [8, 9] for i in r] == list(range(8))  # the main text, in order


def gradient_lit(image: Image.Image, darkest: float = 0.3) -> Image.Image:
    """The page lit from the top: brightness falls linearly to `darkest` at the bottom."""
    pixels = np.asarray(image, dtype=np.float64)
    light = np.linspace(1.0, darkest, pixels.shape[0])[:, None]
    return Image.fromarray(np.round(pixels * light).astype(np.uint8))


def test_sauvola_keeps_text_that_otsu_loses_in_the_dark():
    texts = WORDS[:8]
    image, boxes = page_image(texts)
    true_ink = np.asarray(image) < 128
    lit = gradient_lit(image)
    dark = slice(image.height * 3 // 4, None)  # the bottom quarter, lit at about a third
    paper = ~true_ink[dark]

    local, global_ = sauvola(np.asarray(lit), window=51), otsu(np.asarray(lit))
    assert (local[dark] & true_ink[dark]).sum() >= 0.9 * true_ink[dark].sum()
    assert (local[dark] & paper).sum() <= 0.01 * paper.sum()
    assert (global_[dark] & paper).sum() >= 0.9 * paper.sum()  # Otsu paints the dark paper as ink

    assert matched_order(segment_page(lit, binarization="sauvola"), boxes) == list(range(8))
    otsu_found = [i for i in matched_order(segment_page(lit, binarization="otsu"), boxes) if i is not None]
    assert 6 not in otsu_found and 7 not in otsu_found


def test_otsu_on_an_evenly_lit_page():
    two_levels = np.array([[20, 235, 235], [235, 20, 235]], np.uint8)
    assert otsu_threshold(two_levels) == 20  # ink is every level up to the threshold
    assert np.array_equal(otsu(two_levels), two_levels == 20)
    assert not otsu(np.full((5, 5), 200, np.uint8)).any()  # one level: paper, no ink
    image, boxes = page_image(WORDS[:4])
    assert 20 < otsu_threshold(np.asarray(image)) < 235
    assert matched_order(segment_page(image, binarization="otsu"), boxes) == [0, 1, 2, 3]


def test_empty_page():
    page = segment_page(Image.new("L", (600, 800), 240))
    assert page.regions == [] and page.lines == [] and page.angle == 0.0
    assert segment_page(Image.new("RGB", (1, 1), "white")).regions == []


def test_line_image_is_the_polygon_on_paper():
    image, _ = compose([(t, 30, 20 + 23 * i) for i, t in enumerate(WORDS[:5])], (450, 160))
    page = segment_page(image, deskew=False)
    pixels = np.asarray(image)
    tighter = 0
    for line in page.lines:
        x0, y0, x1, y1 = line.box
        crop = np.asarray(page.line_image(line))
        assert crop.shape == (y1 - y0, x1 - x0)
        inside = Image.new("L", (x1 - x0, y1 - y0), 0)
        ImageDraw.Draw(inside).polygon([(x - x0, y - y0) for x, y in line.polygon], fill=1)
        inside = np.asarray(inside).astype(bool)
        assert np.array_equal(crop[inside], pixels[y0:y1, x0:x1][inside])
        assert (crop[~inside] == page.paper).all()
        tighter += (~inside).any()
    assert page.paper == PAPER and tighter > 0


def test_large_page_is_analysed_scaled_down(monkeypatch):
    small, _ = page_image(WORDS[:5])
    image = small.resize((small.width * 3, small.height * 3), Image.BICUBIC)
    boxes = [ink_box(render(t, 40), (30, 20 + 60 * i)) for i, t in enumerate(WORDS[:5])]
    boxes = [tuple(3 * v for v in box) for box in boxes]
    monkeypatch.setattr(ocr.layout, "ANALYSIS_MAX_SIDE", 800)
    page = segment_page(image)
    assert matched_order(page, boxes) == list(range(5))
    crop = page.line_image(page.lines[0])
    assert crop.size == (page.lines[0].box[2] - page.lines[0].box[0], page.lines[0].box[3] - page.lines[0].box[1])


def test_estimate_skew_sign_follows_pil_rotate():
    image, _ = page_image(WORDS[:8], width=700)
    for angle in (1.0, -1.5):
        turned = image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=PAPER)
        assert abs(estimate_skew(np.asarray(turned) < 128) - angle) <= 0.2


def test_unknown_binarization():
    with pytest.raises(ValueError, match="sauvola"):
        segment_page(Image.new("L", (10, 10)), binarization="niblack")
