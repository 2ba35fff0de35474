"""ALTO 4.4, one file per page (ALTO has one Page per file), in pixels: TextBlock per region, TextLine, String per
word with SP between. Valid against alto-4-4.xsd."""
import xml.etree.ElementTree as ET

from ..document import Line, Page
from .xml_support import UniqueIds, box_corners, confidence, number, points, serialize, software_version, xml_text

NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
SCHEMA = "http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"


def position(box) -> dict:
    x0, y0, x1, y1 = box
    return {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(x1 - x0), "HEIGHT": str(y1 - y0)}


def description(root, page: Page):
    desc = ET.SubElement(root, "Description")
    ET.SubElement(desc, "MeasurementUnit").text = "pixel"
    ET.SubElement(ET.SubElement(desc, "sourceImageInformation"), "fileName").text = xml_text(page.image_name)
    # OCRProcessing is deprecated in 4.x in favour of Processing, but it is what Tesseract writes and readers expect
    step = ET.SubElement(ET.SubElement(desc, "OCRProcessing", {"ID": "OCR_0"}), "ocrProcessingStep")
    software = ET.SubElement(step, "processingSoftware")
    ET.SubElement(software, "softwareName").text = "vitocr"
    if software_version():
        ET.SubElement(software, "softwareVersion").text = software_version()


def add_line(block, line: Line, line_id: str):
    attributes = {"ID": line_id, **position(line.box)}
    if len(line.baseline) >= 2:
        attributes["BASELINE"] = points(line.baseline)
    element = ET.SubElement(block, "TextLine", attributes)
    if sorted(line.polygon) != sorted(box_corners(line.box)):
        ET.SubElement(ET.SubElement(element, "Shape"), "Polygon", {"POINTS": points(line.polygon)})
    # the schema needs at least one String: a line read as empty keeps its box with CONTENT=""
    words = line.words() or [("", line.box, line.confidence)]
    for i, (word, box, conf) in enumerate(words):
        if i:  # the space spans the gap from the previous word to this one
            gap = (words[i - 1][1][2], box[1], box[0], box[3])
            ET.SubElement(element, "SP", {key: position(gap)[key] for key in ("HPOS", "VPOS", "WIDTH")})
        ET.SubElement(element, "String", {"CONTENT": xml_text(word), **position(box), "WC": number(confidence(conf))})


def to_alto(page: Page, page_number: int = 1) -> str:
    root = ET.Element("alto", {"xmlns": NAMESPACE, "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                               "xsi:schemaLocation": f"{NAMESPACE} {SCHEMA}"})
    description(root, page)
    layout = ET.SubElement(root, "Layout")
    page_element = ET.SubElement(layout, "Page", {"ID": f"page_{page_number}", "PHYSICAL_IMG_NR": str(page_number),
                                                  "WIDTH": str(page.width), "HEIGHT": str(page.height)})
    space = ET.SubElement(page_element, "PrintSpace", position((0, 0, page.width, page.height)))
    ids = UniqueIds()
    ids.used.update({"OCR_0", f"page_{page_number}"})
    for r, region in enumerate(page.regions, 1):
        block = ET.SubElement(space, "TextBlock", {"ID": ids(region.id, f"block_{r}"), **position(region.box)})
        for n, line in enumerate(region.lines, 1):
            add_line(block, line, ids(line.id, f"line_{r}_{n}"))
    return serialize(root)
