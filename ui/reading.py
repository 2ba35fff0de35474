"""Pages in, lines with text out, keeping each line's image: the app shows it, maps attention over it, and saves it
as training data, so it must be exactly the image the recogniser read."""
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from PIL import Image

from ocr.document import Page
from ocr.errors import VitocrError
from ocr.pages import PageImage, iter_pages
from ocr.pipeline import find_lines, read_found

SAMPLE_PAGE = Path(__file__).resolve().parents[1] / "ocr" / "samples" / "sample-page.png"
MAX_PAGES_PER_FILE = 50  # every page image stays in memory for the session: keep a long PDF from filling it
PDF_DPI = 300


@dataclass
class PageResult:
    image: Image.Image  # the page, mode "L"
    page: Page  # the model's reading: regions -> lines with text and confidences
    crops: Dict[str, Image.Image] = field(default_factory=dict)  # line id -> the line image the model read


def read_page(page: PageImage, recognizer, beams: Optional[int], batch_size: int = 16,
              progress: Optional[Callable[[int], None]] = None) -> PageResult:
    """Segment one page and read its lines, as ocr.pipeline does, keeping the line images."""
    found, images = find_lines(page)
    crops = {line.id: image for line, image in zip(found.lines, images)}
    result = read_found([(found, images)], recognizer, beams, batch_size, progress)[0]
    return PageResult(page.image, result, {l.id: crops[l.id] for l in result.lines})


def sample_pages() -> List[PageImage]:
    page = next(iter_pages(SAMPLE_PAGE))
    return [PageImage(page.image, SAMPLE_PAGE.name, page.dpi)]


def upload_pages(name: str, data: bytes, dpi: int = PDF_DPI) -> Tuple[List[PageImage], bool]:
    """(the pages of an uploaded file, whether pages past MAX_PAGES_PER_FILE were left out); a VitocrError names
    the file as the user called it, not a temporary path."""
    name = Path(name).name or "upload"  # a browser sends a bare name; never let it climb out of the folder
    with tempfile.TemporaryDirectory(prefix="vitocr-ui-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        prefix = str(path.parent) + os.sep
        try:
            pages = []
            for page in iter_pages(path, dpi):
                if len(pages) == MAX_PAGES_PER_FILE:
                    return pages, True
                pages.append(PageImage(page.image, page.source.replace(prefix, ""), page.dpi))
            return pages, False
        except VitocrError as e:
            raise VitocrError(str(e).replace(prefix, "")) from None
