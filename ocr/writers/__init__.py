"""Output formats for a recognized Document, each written atomically (a reader never sees half a file).

    from ocr.writers import write_document
    write_document(doc, "out/scan.pdf", "pdf", images=[page_image, ...])

txt, json, hocr and pdf hold the whole document in one file. ALTO and PAGE describe one page per file: a
one-page document goes to `path` itself, a longer one to `<stem>.p001<suffix>`, `<stem>.p002<suffix>`, ... beside it
(`scan.xml` -> `scan.p001.xml`), numbered from 1 with at least three digits so the names sort in page order.
"""
from pathlib import Path
from typing import List, Optional

from ..atomic import write_atomic
from ..document import Document
from .alto import to_alto
from .hocr import to_hocr
from .json_document import to_json
from .page_xml import to_page_xml
from .pdf import to_pdf
from .plain_text import to_text

FORMATS = {"txt", "json", "hocr", "alto", "page", "pdf"}
PER_PAGE_FORMATS = {"alto", "page"}


def page_paths(path, page_count: int) -> List[Path]:
    """Where `write_document` puts a per-page format's files."""
    path = Path(path)
    if page_count == 1:
        return [path]
    digits = max(3, len(str(page_count)))
    return [path.with_name(f"{path.stem}.p{n:0{digits}d}{path.suffix}") for n in range(1, page_count + 1)]


def render(doc: Document, format: str, images=None) -> List:
    """The file contents (str or bytes) for `format`: one item, or one per page for alto and page."""
    if format == "txt":
        return [to_text(doc)]
    if format == "json":
        return [to_json(doc)]
    if format == "hocr":
        return [to_hocr(doc)]
    if format == "alto":
        return [to_alto(page, n) for n, page in enumerate(doc.pages, 1)]
    if format == "page":
        return [to_page_xml(page) for page in doc.pages]
    if format == "pdf":
        if images is None:
            raise ValueError("pdf needs the page images (images=[...], one per page; None for a text-only page).")
        return [to_pdf(doc, images)]
    raise ValueError(f"unknown output format {format!r}; choose one of {', '.join(sorted(FORMATS))}.")


def write_document(doc: Document, path, format: str, images: Optional[list] = None) -> List[Path]:
    """Write `doc` as `format` to `path` (see the module docstring for per-page files); returns the paths written.
    Everything is rendered before the first write, so a failure while rendering leaves every old file as it was."""
    contents = render(doc, format, images)
    if format in PER_PAGE_FORMATS:
        if not doc.pages:
            raise ValueError(f"{format} describes pages, and the document has none.")
        paths = page_paths(path, len(doc.pages))
    else:
        paths = [Path(path)]
    return [write_atomic(p, content) for p, content in zip(paths, contents)]
