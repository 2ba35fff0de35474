"""The document result: pages -> lines (polygon, box, text, confidences). Every output format writes this."""
from dataclasses import asdict, dataclass, field
from typing import List, Optional, Tuple

Box = Tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels, x1/y1 exclusive
Point = Tuple[int, int]


@dataclass
class Line:
    box: Box
    polygon: List[Point] = field(default_factory=list)  # outline in page pixels; the box's corners if unknown
    baseline: List[Point] = field(default_factory=list)
    text: str = ""
    confidence: float = 0.0  # line confidence, 0..1
    char_confidences: List[float] = field(default_factory=list)  # one per character of `text`
    id: str = ""

    def __post_init__(self):
        self.box = tuple(int(v) for v in self.box)
        if not self.polygon:
            x0, y0, x1, y1 = self.box
            self.polygon = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        self.polygon = [tuple(int(v) for v in p) for p in self.polygon]
        self.baseline = [tuple(int(v) for v in p) for p in self.baseline]

    def words(self) -> List[Tuple[str, Box, float]]:
        """(word, box, confidence) for each word, boxes estimated from the characters' share of the line width."""
        x0, y0, x1, y1 = self.box
        n = max(len(self.text), 1)
        out, start = [], None
        for i, ch in enumerate(self.text + " "):
            if ch != " " and start is None:
                start = i
            elif ch == " " and start is not None:
                confs = self.char_confidences[start:i] or [self.confidence]
                box = (x0 + (x1 - x0) * start // n, y0, x0 + (x1 - x0) * i // n, y1)
                out.append((self.text[start:i], box, min(confs)))
                start = None
        return out


@dataclass
class Region:
    """A text block (a column, a paragraph, a marginal note): its lines in reading order."""
    box: Box
    lines: List[Line] = field(default_factory=list)
    id: str = ""


@dataclass
class Page:
    width: int
    height: int
    regions: List[Region] = field(default_factory=list)
    source: str = ""  # the file (and page number) it came from
    image_name: str = ""  # the image file name written into PAGE/ALTO
    dpi: Optional[float] = None
    dropped_lines: int = 0  # found lines read under the minimum confidence: noise (a photo's texture), not kept

    @property
    def lines(self) -> List[Line]:
        return [line for region in self.regions for line in region.lines]

    @property
    def text(self) -> str:
        return "\n\n".join("\n".join(l.text for l in r.lines) for r in self.regions if r.lines)


@dataclass
class Document:
    pages: List[Page] = field(default_factory=list)
    model: str = ""  # the model that read it

    @property
    def text(self) -> str:
        return "\n\n\f".join(p.text for p in self.pages)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Document":
        pages = []
        for p in d["pages"]:
            regions = [Region(tuple(r["box"]), [Line(**{**l, "box": tuple(l["box"])}) for l in r["lines"]], r.get("id", ""))
                       for r in p["regions"]]
            pages.append(Page(p["width"], p["height"], regions, p.get("source", ""), p.get("image_name", ""),
                              p.get("dpi"), p.get("dropped_lines", 0)))
        return cls(pages, d.get("model", ""))
