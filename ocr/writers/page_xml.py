"""PAGE XML 2019-07-15 (what Transkribus and eScriptorium exchange), one file per page: TextRegion per region with
its reading order, TextLine with Coords, Baseline, Words and TextEquiv. Valid against pagecontent-2019-07-15.xsd."""
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Optional

from ..document import Line, Page
from .xml_support import UniqueIds, box_corners, confidence, number, points, serialize, xml_text

NAMESPACE = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
SCHEMA = f"{NAMESPACE}/pagecontent.xsd"


def text_equiv(parent, text: str, conf: Optional[float] = None):
    attributes = {} if conf is None else {"conf": number(confidence(conf))}
    ET.SubElement(ET.SubElement(parent, "TextEquiv", attributes), "Unicode").text = xml_text(text)


def coords(parent, polygon, name="Coords"):
    ET.SubElement(parent, name, {"points": points(polygon)})


def add_line(region, line: Line, line_id: str, ids: UniqueIds):
    element = ET.SubElement(region, "TextLine", {"id": line_id})
    # the schema's points pattern needs two points at least
    coords(element, line.polygon if len(line.polygon) >= 2 else box_corners(line.box))
    if len(line.baseline) >= 2:
        coords(element, line.baseline, "Baseline")
    for n, (word, box, conf) in enumerate(line.words(), 1):
        word_element = ET.SubElement(element, "Word", {"id": ids("", f"{line_id}_w{n}")})
        coords(word_element, box_corners(box))
        text_equiv(word_element, word, conf)
    text_equiv(element, line.text, line.confidence)


def to_page_xml(page: Page, created: Optional[datetime] = None) -> str:
    """`created` (default: now, UTC) fills Created and LastChange; pass one for byte-identical output."""
    stamp = (created or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    root = ET.Element("PcGts", {"xmlns": NAMESPACE, "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                                "xsi:schemaLocation": f"{NAMESPACE} {SCHEMA}"})
    metadata = ET.SubElement(root, "Metadata")
    ET.SubElement(metadata, "Creator").text = "vitocr"
    ET.SubElement(metadata, "Created").text = stamp
    ET.SubElement(metadata, "LastChange").text = stamp
    page_element = ET.SubElement(root, "Page", {"imageFilename": xml_text(page.image_name),
                                                "imageWidth": str(page.width), "imageHeight": str(page.height)})
    ids = UniqueIds()
    ids.used.add("reading_order")
    region_ids = [ids(region.id, f"region_{r}") for r, region in enumerate(page.regions, 1)]
    if region_ids:  # an OrderedGroup needs at least one member
        group = ET.SubElement(ET.SubElement(page_element, "ReadingOrder"), "OrderedGroup",
                              {"id": "reading_order", "caption": "Regions reading order"})
        for index, region_id in enumerate(region_ids):
            ET.SubElement(group, "RegionRefIndexed", {"index": str(index), "regionRef": region_id})
    for region, region_id in zip(page.regions, region_ids):
        element = ET.SubElement(page_element, "TextRegion", {"id": region_id})
        coords(element, box_corners(region.box))
        for n, line in enumerate(region.lines, 1):
            add_line(element, line, ids(line.id, f"{region_id}_l{n}"), ids)
        text_equiv(element, "\n".join(line.text for line in region.lines))
    return serialize(root)
