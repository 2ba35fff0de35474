"""hOCR 1.2 (XHTML): ocr_page > ocr_carea > ocr_line > ocrx_word, as Tesseract writes it, so hocr-tools,
OCRmyPDF's hocrtransform and viewers read it. One file holds all pages."""
import itertools
import xml.etree.ElementTree as ET

from ..document import Document, Line, Page
from .xml_support import confidence, number, serialize, software_version, xml_text

DOCTYPE = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
           '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n')
CAPABILITIES = "ocr_page ocr_carea ocr_line ocrx_word ocrp_wconf"


def bbox(box) -> str:
    return "bbox {} {} {} {}".format(*box)


def wconf(value: float) -> str:
    return f"x_wconf {round(confidence(value) * 100)}"


def baseline(line: Line) -> str:
    """hOCR's "baseline slope offset": a straight line through the first and last point, the offset in pixels below
    the box's bottom-left corner (negative: above it)."""
    (xa, ya), (xb, yb) = line.baseline[0], line.baseline[-1]
    slope = (yb - ya) / (xb - xa) if xb != xa else 0.0
    x0, _, _, y1 = line.box
    return f"baseline {number(slope)} {number(ya + slope * (x0 - xa) - y1)}"


def add_line(parent, line: Line, line_id: str, word_ids):
    title = [bbox(line.box)] + ([baseline(line)] if len(line.baseline) >= 2 else []) + [wconf(line.confidence)]
    element = ET.SubElement(parent, "span", {"class": "ocr_line", "id": line_id, "title": "; ".join(title)})
    for word, box, conf in line.words():
        span = ET.SubElement(element, "span", {"class": "ocrx_word", "id": next(word_ids),
                                               "title": f"{bbox(box)}; {wconf(conf)}"})
        span.text = xml_text(word)


def add_page(body, page: Page, page_number: int, line_ids, word_ids):
    image = page.image_name or page.source
    title = [f'image "{xml_text(image)}"'] if image else []
    title += [bbox((0, 0, page.width, page.height)), f"ppageno {page_number - 1}"]  # ppageno counts from 0
    element = ET.SubElement(body, "div", {"class": "ocr_page", "id": f"page_{page_number}", "title": "; ".join(title)})
    for r, region in enumerate(page.regions, 1):
        area = ET.SubElement(element, "div", {"class": "ocr_carea", "id": f"block_{page_number}_{r}",
                                              "title": bbox(region.box)})
        for line in region.lines:
            add_line(area, line, next(line_ids), word_ids)


def to_hocr(doc: Document) -> str:
    html = ET.Element("html", {"xmlns": "http://www.w3.org/1999/xhtml", "xml:lang": "en", "lang": "en"})
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "title").text = xml_text(doc.model)
    ET.SubElement(head, "meta", {"http-equiv": "Content-Type", "content": "text/html;charset=utf-8"})
    ET.SubElement(head, "meta", {"name": "ocr-system", "content": f"vitocr {software_version()}".strip()})
    ET.SubElement(head, "meta", {"name": "ocr-capabilities", "content": CAPABILITIES})
    body = ET.SubElement(html, "body")
    line_ids = (f"line_{i}" for i in itertools.count(1))
    word_ids = (f"word_{i}" for i in itertools.count(1))
    for n, page in enumerate(doc.pages, 1):
        add_page(body, page, n, line_ids, word_ids)
    # no self-closing tags: browsers read .hocr as HTML, where <div/> or <title/> would swallow what follows
    xml = serialize(html, short_empty_elements=False)
    declaration, rest = xml.split("\n", 1)
    return declaration + "\n" + DOCTYPE + rest
