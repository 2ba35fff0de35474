"""Helpers shared by the hOCR, ALTO and PAGE writers: XML-safe text, unique IDs, number and point formatting."""
import re
import xml.etree.ElementTree as ET
from importlib import metadata

# XML 1.0 forbids most control characters and lone surrogates; OCR output can hold them and parsers reject them
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text or "")


def software_version() -> str:
    try:
        return metadata.version("vitocr")
    except metadata.PackageNotFoundError:
        return ""


def number(value: float) -> str:
    """Shortest plain form: 3 -> "3", 0.5 -> "0.5", 1/3 -> "0.333"."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def confidence(value: float) -> float:
    """Clamped to 0..1: schemas reject anything else."""
    return min(max(float(value), 0.0), 1.0) if value == value else 0.0  # NaN -> 0


def points(polygon, separator=",") -> str:
    """"x,y x,y ..." with non-negative integers, the form PAGE's schema pattern requires."""
    return " ".join(f"{max(int(x), 0)}{separator}{max(int(y), 0)}" for x, y in polygon)


def box_corners(box):
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


class UniqueIds:
    """Keeps a given ID when it is a valid, unused xsd:ID (so round trips keep it), else makes one up."""

    def __init__(self):
        self.used = set()

    def __call__(self, wanted: str, fallback: str) -> str:
        candidate = wanted if wanted and _NCNAME.fullmatch(wanted) and wanted not in self.used else fallback
        while candidate in self.used:
            candidate += "_"
        self.used.add(candidate)
        return candidate


def serialize(root: ET.Element, **options) -> str:
    """Indented UTF-8 XML with a declaration. Namespaces are plain xmlns attributes on the root, so no global
    ElementTree namespace registry is touched."""
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode", **options) + "\n"
