"""Output writers: exact text, JSON round trip, hOCR structure, ALTO/PAGE schema validity and read-back, searchable
PDF text extraction and placement, atomic writes."""
import functools
import io
import json
import os
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring
from PIL import Image, ImageFont

from ocr.document import Document, Line, Page, Region
from ocr.layout_xml import read_layout_xml
from ocr.writers import FORMATS, page_paths, write_document
from ocr.writers.alto import to_alto
from ocr.writers.glyphless_font import checksum, glyphless_truetype
from ocr.writers.hocr import to_hocr
from ocr.writers.page_xml import to_page_xml
from ocr.writers.pdf import to_pdf

SPECIAL = "Ærø ½ — ‘quotes’ & <tags>"
GREEK = "Καλημέρα κόσμε"
BEYOND_BMP = "page two: ünïcödé 😀 e\u0301"  # an emoji (two UTF-16 units) and e + a combining accent


def sample_document() -> Document:
    wavy = [(100, 98), (600, 96), (1100, 100), (1100, 160), (600, 163), (100, 160)]
    first = Region((100, 96, 1100, 250), [
        Line((100, 96, 1100, 163), wavy, [(100, 150), (1100, 152)], SPECIAL, 0.91, [0.9] * len(SPECIAL), "l1"),
        Line((100, 190, 900, 250), text=GREEK, confidence=0.5, id="l2"),
    ], "r1")
    second = Region((100, 400, 700, 460), [Line((100, 400, 700, 460), text="second region 42", confidence=1.0)])
    page_one = Page(1275, 1650, [first, second], "scan.pdf#1", "scan-1.png", dpi=150)
    last = Region((50, 50, 950, 300), [Line((50, 50, 950, 110), text=BEYOND_BMP, confidence=0.7),
                                       Line((50, 150, 400, 210), text="", confidence=0.0)])
    page_two = Page(1000, 800, [last], "scan.pdf#2", "")  # dpi unknown: the PDF assumes 300
    return Document([page_one, page_two], "tiny-model")


def page_images():
    first = Image.new("RGB", (1275, 1650), "white")
    first.paste((0, 0, 0), (1000, 1400, 1200, 1600))  # a black square to find in the rendered PDF
    second = Image.new("1", (1000, 800), 1)
    second.paste(0, (0, 600, 200, 800))
    return [first, second]


@pytest.fixture(scope="module")
def doc():
    return sample_document()


# --- txt and json ---------------------------------------------------------------------------------------------------

def test_txt_is_lines_blank_line_between_regions_form_feed_between_pages(doc, tmp_path):
    write_document(doc, tmp_path / "out.txt", "txt")
    expected = f"{SPECIAL}\n{GREEK}\n\nsecond region 42\n\n\f{BEYOND_BMP}\n\n"
    assert (tmp_path / "out.txt").read_bytes() == expected.encode("utf-8")


def test_json_round_trips_exactly(doc, tmp_path):
    write_document(doc, tmp_path / "out.json", "json")
    raw = (tmp_path / "out.json").read_bytes()
    assert SPECIAL.encode("utf-8") in raw  # UTF-8, not \u escapes
    assert Document.from_dict(json.loads(raw.decode("utf-8"))) == doc


# --- hOCR -----------------------------------------------------------------------------------------------------------

def by_class(root, name):
    return [e for e in root.iter() if e.get("class") == name]


def title(element) -> dict:
    return {part.split()[0]: part.split(None, 1)[1] for part in element.get("title").split("; ")}


def test_hocr_structure_boxes_and_confidences(doc):
    hocr = to_hocr(doc)
    assert hocr.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html')
    root = fromstring(hocr.encode("utf-8"))
    metas = {m.get("name"): m.get("content") for m in root.iter("{http://www.w3.org/1999/xhtml}meta")}
    assert metas["ocr-system"].split()[0] == "vitocr"
    assert set(metas["ocr-capabilities"].split()) >= {"ocr_page", "ocr_carea", "ocr_line", "ocrx_word"}
    pages = by_class(root, "ocr_page")
    assert [title(p) for p in pages] == [{"image": '"scan-1.png"', "bbox": "0 0 1275 1650", "ppageno": "0"},
                                         {"image": '"scan.pdf#2"', "bbox": "0 0 1000 800", "ppageno": "1"}]
    assert [title(a)["bbox"] for a in by_class(root, "ocr_carea")] == ["100 96 1100 250", "100 400 700 460",
                                                                       "50 50 950 300"]
    lines = by_class(root, "ocr_line")
    doc_lines = doc.pages[0].lines + doc.pages[1].lines
    assert [title(l)["bbox"] for l in lines] == [" ".join(map(str, l.box)) for l in doc_lines]
    assert title(lines[0]) == {"bbox": "100 96 1100 163", "baseline": "0.002 -13", "x_wconf": "91"}
    assert "baseline" not in title(lines[1])
    for element, line in zip(lines, doc_lines):
        words = by_class(element, "ocrx_word")
        assert [w.text for w in words] == [word for word, _, _ in line.words()]
        assert [title(w)["bbox"] for w in words] == [" ".join(map(str, box)) for _, box, _ in line.words()]
        assert [title(w)["x_wconf"] for w in words] == [str(round(c * 100)) for _, _, c in line.words()]
    # nothing self-closing: a browser reading it as HTML would otherwise nest what follows
    assert "/>" not in hocr


# --- ALTO and PAGE --------------------------------------------------------------------------------------------------

def schema_folder() -> Path:
    return Path(os.environ.get("VITOCR_SCHEMAS") or Path(__file__).resolve().parents[2] / "shared" / "schemas")


@pytest.fixture(scope="module")
def schema():
    etree = pytest.importorskip("lxml.etree")

    @functools.lru_cache(maxsize=None)
    def load(name):
        path = schema_folder() / name
        if not path.exists():
            pytest.skip(f"{name} not found (set VITOCR_SCHEMAS)")
        return etree.XMLSchema(etree.parse(str(path)))

    def validate(name, xml: str):
        load(name).assertValid(etree.fromstring(xml.encode("utf-8")))
    return validate


def assert_reads_back(paths, doc, polygons_of):
    for path, page in zip(paths, doc.pages):
        layout = read_layout_xml(path)
        assert (layout.width, layout.height) == (page.width, page.height)
        assert [(l.box, l.text) for l in layout.lines] == [(l.box, l.text) for l in page.lines]
        assert [l.polygon for l in layout.lines] == [polygons_of(l) for l in page.lines]


def test_alto_is_valid(doc, schema):
    for n, page in enumerate(doc.pages, 1):
        schema("alto-4-4.xsd", to_alto(page, n))


def test_alto_reads_back(doc, tmp_path):
    paths = write_document(doc, tmp_path / "scan.xml", "alto")
    assert paths == [tmp_path / "scan.p001.xml", tmp_path / "scan.p002.xml"]
    # a Shape only where the outline is not the box itself
    assert_reads_back(paths, doc, lambda line: line.polygon if line.id == "l1" else None)
    assert read_layout_xml(paths[0]).image == tmp_path / "scan-1.png"


def test_page_xml_is_valid(doc, schema):
    for page in doc.pages:
        schema("pagecontent-2019-07-15.xsd", to_page_xml(page))


def test_page_xml_reads_back(doc, tmp_path):
    paths = write_document(doc, tmp_path / "scan.xml", "page")
    assert_reads_back(paths, doc, lambda line: line.polygon)
    layout = read_layout_xml(paths[0])
    assert [(l.id, l.region) for l in layout.lines] == [("l1", "r1"), ("l2", "r1"), ("region_2_l1", "region_2")]


def test_xml_drops_characters_xml_cannot_hold_and_invents_ids_for_invalid_ones(schema):
    line = Line((0, 0, 50, 20), text="a\x00b\x1bc", id="1 not an id")
    page = Page(100, 100, [Region((0, 0, 50, 20), [line], id="dup"), Region((0, 40, 50, 60), [], id="dup")])
    schema("pagecontent-2019-07-15.xsd", to_page_xml(page))
    schema("alto-4-4.xsd", to_alto(page))
    assert "abc" in to_page_xml(page) and "abc" in to_alto(page)


def test_one_page_document_is_written_to_the_path_itself(doc, tmp_path):
    single = Document(doc.pages[:1])
    assert write_document(single, tmp_path / "one.xml", "page") == [tmp_path / "one.xml"]
    assert page_paths("a/b.xml", 1000)[-1] == Path("a/b.p1000.xml")


# --- searchable PDF -------------------------------------------------------------------------------------------------

@pytest.fixture
def open_pdf():
    """pypdfium2's PdfDocument, closed (with its pages) after the test."""
    pdfium = pytest.importorskip("pypdfium2")
    opened = []
    yield lambda source: opened.append(pdfium.PdfDocument(source)) or opened[-1]
    for pdf in opened:
        pdf.close()


def pdf_rect(box, scale, page_height):
    x0, y0, x1, y1 = box
    return x0 * scale, page_height - y1 * scale, x1 * scale, page_height - y0 * scale


def char_index(text: str, i: int) -> int:
    """pdfium counts characters in UTF-16 units: a character beyond U+FFFF takes two indices."""
    return len(text[:i].encode("utf-16-le")) // 2


def test_pdf_pages_text_and_positions(doc, tmp_path, open_pdf):
    write_document(doc, tmp_path / "out.pdf", "pdf", images=page_images())
    pdf = open_pdf(tmp_path / "out.pdf")
    assert len(pdf) == 2
    assert [tuple(round(v, 3) for v in p.get_size()) for p in pdf] == [(612, 792), (240, 192)]  # 150 and 300 dpi
    for page, doc_page in zip(pdf, doc.pages):
        scale, height = 72 / (doc_page.dpi or 300), page.get_size()[1]
        text = page.get_textpage()
        full = text.get_text_range()
        for line in doc_page.lines:
            if not line.text:
                continue
            assert line.text in full
            left, bottom, right, top = pdf_rect(line.box, scale, height)
            assert text.get_text_bounded(left, bottom, right, top) == line.text
            start = full.index(line.text)
            indices = range(char_index(full, start), char_index(full, start + len(line.text)))
            boxes = [text.get_charbox(i, loose=True) for i in indices]
            assert min(b[0] for b in boxes) == pytest.approx(left, abs=0.5)
            assert max(b[2] for b in boxes) == pytest.approx(right, abs=0.5)
            assert all(b[1] == pytest.approx(bottom, abs=0.5) and b[3] == pytest.approx(top, abs=0.5) for b in boxes)
            # each word's characters lie on the word's box from Line.words()
            for word, box, _ in line.words():
                first = full.index(word, start)
                word_left, _, word_right, _ = pdf_rect(box, scale, height)
                assert text.get_charbox(char_index(full, first), loose=True)[0] == pytest.approx(word_left, abs=0.5)
                last = char_index(full, first + len(word)) - 1
                assert text.get_charbox(last, loose=True)[2] == pytest.approx(word_right, abs=0.5)


def test_pdf_draws_the_image_full_page_and_the_text_invisibly(doc, open_pdf):
    pdf = open_pdf(to_pdf(doc, page_images()))
    first = pdf[0].render(scale=150 / 72).to_pil().convert("L")  # back to the page's pixels (pdfium may round up)
    assert first.size[0] - 1275 in (0, 1) and first.size[1] - 1650 in (0, 1)
    assert first.getpixel((1100, 1500)) < 30 and first.getpixel((500, 130)) > 225  # square black, text unseen
    second = pdf[1].render(scale=300 / 72).to_pil().convert("L")
    assert second.getpixel((100, 700)) == 0 and second.getpixel((500, 80)) == 255
    text_only = open_pdf(to_pdf(doc, [None, None]))
    assert text_only[0].render(scale=0.25).to_pil().convert("L").getextrema() == (255, 255)
    assert SPECIAL in text_only[0].get_textpage().get_text_range()


def test_pdf_small_and_unusual_images_are_embedded_losslessly(open_pdf):
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    image.paste((10, 200, 30, 255), (0, 0, 100, 100))
    page = Page(200, 100, [Region((0, 0, 200, 100), [Line((0, 0, 200, 100), text="x")])], dpi=72)
    rendered = open_pdf(to_pdf(Document([page]), [image]))[0].render().to_pil().convert("RGB")
    assert rendered.getpixel((50, 50)) == (10, 200, 30) and rendered.getpixel((150, 50)) == (255, 255, 255)
    sixteen_bit = Image.new("I;16", (200, 100), 0x8000)
    rendered = open_pdf(to_pdf(Document([page]), [sixteen_bit]))[0].render().to_pil().convert("L")
    assert rendered.getpixel((50, 50)) == 0x80


def test_glyphless_font_is_a_well_formed_truetype_font():
    font = glyphless_truetype()
    assert checksum(font) == 0xB1B0AFBA  # the whole-file checksum head.checkSumAdjustment promises
    loaded = ImageFont.truetype(io.BytesIO(font), 100)  # FreeType, as PDF viewers use
    assert loaded.getname() == ("GlyphLessFont", "Regular") and loaded.getlength("ab") == 100


def test_pdf_needs_one_image_per_page(doc, tmp_path):
    with pytest.raises(ValueError, match="page images"):
        write_document(doc, tmp_path / "out.pdf", "pdf")
    with pytest.raises(ValueError, match="2 pages"):
        write_document(doc, tmp_path / "out.pdf", "pdf", images=[None])
    with pytest.raises(ValueError, match="no pages"):
        write_document(Document([]), tmp_path / "out.pdf", "pdf", images=[])
    assert list(tmp_path.iterdir()) == []


# --- atomic writes --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("format", sorted(FORMATS))
def test_writes_leave_no_temporary_files(doc, format, tmp_path):
    paths = write_document(doc, tmp_path / f"out.{format}", format, images=page_images())
    assert sorted(tmp_path.iterdir()) == sorted(paths)


def test_a_failed_write_leaves_the_old_file_intact(doc, tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def fail(*args):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", fail)  # fails after the new bytes are written, before they replace the old
    with pytest.raises(OSError, match="disk full"):
        write_document(doc, target, "txt")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_unknown_format_is_refused(doc, tmp_path):
    with pytest.raises(ValueError, match="unknown output format 'docx'"):
        write_document(doc, tmp_path / "out.docx", "docx")
