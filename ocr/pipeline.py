"""Pages in, Document out: load pages, find lines (or take them from PAGE/ALTO), read them in width-sorted batches
across pages, attach the text to the lines."""
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Tuple, Union

from PIL import Image

from .document import Document, Line, Page, Region
from .errors import VitocrError
from .images import cut_line
from .pages import PageImage, expand_inputs, iter_pages
from .recognizer import Recognizer

BUNDLED_MODELS = Path(__file__).parent / "models"
DEFAULT_MODEL = "printed"


def model_path(model: Optional[str]) -> Path:
    """A bundled model's name (printed, handwritten) or a model folder."""
    name = model or DEFAULT_MODEL
    if (BUNDLED_MODELS / name / "config.json").exists():
        return BUNDLED_MODELS / name
    path = Path(name)
    if not path.exists() and "/" not in name:
        bundled = sorted(p.name for p in BUNDLED_MODELS.iterdir() if (p / "config.json").exists()) \
            if BUNDLED_MODELS.is_dir() else []
        raise VitocrError(f"no model named {name!r}; bundled models: {', '.join(bundled) or 'none'}, "
                          f"or give the path of a model folder.")
    return path


def load_recognizer(model=None, device: str = "auto", decoder: str = "auto",
                    lm_weight: Optional[float] = None, views: Optional[int] = None) -> Recognizer:
    if isinstance(model, Recognizer):
        return model
    return Recognizer.load(model_path(model), device, decoder, lm_weight, views)


def segment(page: PageImage, lines_from=None):
    """(regions without text, a function giving each line's image) for one page."""
    if lines_from is not None:
        return lines_from_xml(page, lines_from)
    from .layout import segment_page

    segmented = segment_page(page.image)
    return segmented.regions, segmented.line_image


def lines_from_xml(page: PageImage, xml_path):
    """Regions and lines of an existing PAGE/ALTO file for this page image."""
    from .layout_xml import read_layout_xml

    try:
        layout = read_layout_xml(xml_path)
    except ValueError as e:
        raise VitocrError(str(e)) from None
    regions = {}
    for i, l in enumerate(layout.lines, 1):
        region = regions.setdefault(l.region or "r1", Region((0, 0, 0, 0), [], l.region or "r1"))
        region.lines.append(Line(l.box, l.polygon or [], id=l.id or f"l{i}"))
    for region in regions.values():
        boxes = [l.box for l in region.lines]
        region.box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                      max(b[3] for b in boxes))

    return list(regions.values()), lambda line: cut_line(page.image, line.box, line.polygon)


def find_lines(page: PageImage, lines_from=None) -> Tuple[Page, List[Image.Image]]:
    """The page's regions and lines, text still empty, and each line's image in `page.lines` order."""
    regions, line_image = segment(page, lines_from)
    found = Page(page.image.width, page.image.height, regions, page.source, Path(page.source.split("#")[0]).name,
                 page.dpi)
    return found, [line_image(line) for line in found.lines]


def read_found(found: List[Tuple[Page, List[Image.Image]]], recognizer: Recognizer, beams: Optional[int],
               batch_size: int, progress: Optional[Callable[[int], None]] = None,
               min_confidence: Optional[float] = None) -> List[Page]:
    """Read the lines of several pages together (batches mix similar widths from all pages). Lines that read empty,
    or below `min_confidence` (default: the model's, config.json's `min_confidence`), are noise, not text: the
    texture of a photo or a rule cut as a line. They are dropped, and regions left without lines with them."""
    if min_confidence is None:
        min_confidence = recognizer.model.config.min_confidence
    targets = [line for page, _ in found for line in page.lines]
    crops = [image for _, images in found for image in images]
    for line, result in zip(targets, recognizer.recognize(crops, beams=beams, batch_size=batch_size,
                                                          progress=progress)):
        line.text, line.confidence, line.char_confidences = result.text, result.confidence, result.char_confidences
    pages = [page for page, _ in found]
    for page in pages:
        for region in page.regions:
            read = [l for l in region.lines if l.text.strip()]
            region.lines = [l for l in read if l.confidence >= min_confidence]
            page.dropped_lines += len(read) - len(region.lines)
        page.regions = [r for r in page.regions if r.lines]
    return pages


def read_pages(pages: List[PageImage], recognizer: Recognizer, beams: Optional[int], batch_size: int, lines_from=None,
               progress: Optional[Callable[[int], None]] = None, min_confidence: Optional[float] = None) -> List[Page]:
    """Find the lines of each page (or take them from `lines_from`, whose lines are all kept) and read them."""
    if lines_from:
        min_confidence = 0.0
    return read_found([find_lines(p, lines_from) for p in pages], recognizer, beams, batch_size, progress,
                      min_confidence)


def transcribe(inputs: Union[str, Path, Iterable], model=None, device: str = "auto", beams: Optional[int] = None,
               batch_size: int = 16, dpi: int = 300, lines_from=None, pages_per_batch: int = 8,
               min_confidence: Optional[float] = None) -> Document:
    """Read documents: `ocr.transcribe("scan.pdf")` -> Document (pages -> regions -> lines with text).

    `inputs`: a file, folder or glob, or a list of them; `model`: a bundled model's name, a model folder or a
    Recognizer; `beams`: the beam width (default: the model's); `lines_from`: a PAGE/ALTO file whose lines are
    read instead of finding them; `min_confidence`: found lines read less surely are dropped as noise (default: the
    model's; 0 keeps every line).
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    recognizer = load_recognizer(model, device)
    doc = Document(model=str(model or DEFAULT_MODEL))
    for path in expand_inputs(inputs):
        doc.pages += read_file(path, recognizer, beams, batch_size, dpi, lines_from, pages_per_batch,
                               min_confidence=min_confidence)
    return doc


def read_file(path, recognizer, beams=None, batch_size=16, dpi=300, lines_from=None, pages_per_batch=8,
              progress=None, min_confidence=None) -> List[Page]:
    """All pages of one file, a few pages at a time so a long PDF never sits in memory whole."""
    pages, chunk = [], []
    for page in iter_pages(path, dpi):
        chunk.append(page)
        if len(chunk) == pages_per_batch:
            pages += read_pages(chunk, recognizer, beams, batch_size, lines_from, progress, min_confidence)
            chunk = []
    if chunk:
        pages += read_pages(chunk, recognizer, beams, batch_size, lines_from, progress, min_confidence)
    return pages
