"""Read the lines of a PAGE XML (2013-2019+) or ALTO (v2-v4) file: page image, line boxes, polygons and text.

Parsed with defusedxml: entity expansion and external references are refused, so a hostile file cannot blow up
memory or read local files. Namespaces differ between versions, so elements are matched by local name.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import parse

Box = Tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels


@dataclass
class LayoutLine:
    box: Box
    polygon: Optional[List[Tuple[int, int]]] = None
    text: Optional[str] = None
    id: str = ""
    region: str = ""


@dataclass
class PageLayout:
    image: Path  # resolved against the XML file's folder
    width: int
    height: int
    lines: List[LayoutLine] = field(default_factory=list)


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def children(element, name):
    return [c for c in element if local(c.tag) == name]


def descendants(element, name):
    return [c for c in element.iter() if local(c.tag) == name]


def points(text: str, separator=",") -> List[Tuple[int, int]]:
    """PAGE "x,y x,y ..." (or ALTO "x y x y ...") -> [(x, y), ...]."""
    if separator == ",":
        return [tuple(int(float(v)) for v in p.split(",")) for p in text.split()]
    values = [int(float(v)) for v in text.replace(",", " ").split()]
    return list(zip(values[0::2], values[1::2]))


def bounding_box(polygon) -> Box:
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    return min(xs), min(ys), max(xs), max(ys)


def read_layout_xml(path) -> PageLayout:
    """A PageLayout from a PAGE or ALTO file; ValueError (naming the file) for anything else or broken XML."""
    path = Path(path)
    try:
        root = parse(str(path)).getroot()
    except (ParseError, DefusedXmlException) as e:
        raise ValueError(f"{path}: not well-formed XML ({e}); check the export.") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror}).") from None
    kind = local(root.tag)
    try:
        if kind == "PcGts":
            return read_page(root, path)
        if kind == "alto":
            return read_alto(root, path)
    except (ValueError, KeyError, IndexError) as e:
        raise ValueError(f"{path}: malformed {kind} ({e!r}); check the export.") from None
    raise ValueError(f"{path}: neither PAGE XML nor ALTO (root element <{kind}>).")


def line_text(element) -> Optional[str]:
    """PAGE: the line's own TextEquiv (the one with the lowest index), not its words'."""
    equivs = sorted(children(element, "TextEquiv"), key=lambda e: int(e.get("index", 0)))
    for equiv in equivs:
        for unicode in children(equiv, "Unicode"):
            return unicode.text or ""
    return None


def read_page(root, path: Path) -> PageLayout:
    page = children(root, "Page")[0]
    layout = PageLayout(path.parent / page.get("imageFilename", ""), int(page.get("imageWidth", 0)),
                        int(page.get("imageHeight", 0)))
    for region in descendants(page, "TextRegion"):
        for line in children(region, "TextLine"):
            coords = children(line, "Coords")
            if not coords:
                continue
            polygon = points(coords[0].get("points", ""))
            if len(polygon) < 2:
                continue
            layout.lines.append(LayoutLine(bounding_box(polygon), polygon, line_text(line), line.get("id", ""),
                                           region.get("id", "")))
    return layout


def read_alto(root, path: Path) -> PageLayout:
    unit = next((e.text for e in descendants(root, "MeasurementUnit")), "pixel")
    if unit and unit.strip() != "pixel":
        raise ValueError(f"measurement unit {unit!r}, only 'pixel' is supported")
    name = next((e.text for e in descendants(root, "fileName") if e.text), "")
    page = descendants(root, "Page")[0]
    layout = PageLayout(path.parent / name.strip(), int(float(page.get("WIDTH", 0))), int(float(page.get("HEIGHT", 0))))
    for block in descendants(page, "TextBlock"):
        for line in children(block, "TextLine"):
            x, y = float(line.get("HPOS")), float(line.get("VPOS"))
            box = (int(x), int(y), int(x + float(line.get("WIDTH"))), int(y + float(line.get("HEIGHT"))))
            shapes = [p.get("POINTS", "") for s in children(line, "Shape") for p in children(s, "Polygon")]
            words = []
            for item in line:
                if local(item.tag) == "String":
                    if words and words[-1] != " ":  # many exports leave out <SP/> between words
                        words.append(" ")
                    words.append(item.get("CONTENT", ""))
                elif local(item.tag) == "SP":
                    words.append(" ")
                elif local(item.tag) == "HYP":
                    words.append(item.get("CONTENT", "-"))
            text = "".join(words) if any(local(i.tag) == "String" for i in line) else None
            layout.lines.append(LayoutLine(box, points(shapes[0], " ") if shapes else None, text, line.get("ID", ""),
                                           block.get("ID", "")))
    return layout
