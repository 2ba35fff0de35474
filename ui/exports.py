"""Download files for the corrected document, one per format: ocr.writers renders them; a format that describes one
page per file (ALTO, PAGE) becomes a zip of page files when there are several pages."""
import io
import zipfile
from pathlib import Path
from typing import List, Tuple

from ocr.document import Document
from ocr.writers import PER_PAGE_FORMATS, page_paths, render

# format -> (label, file suffix, MIME type), in the order the buttons appear
DOWNLOADS = {
    "txt": ("Text", ".txt", "text/plain"),
    "json": ("JSON", ".json", "application/json"),
    "alto": ("ALTO", ".alto.xml", "application/xml"),
    "page": ("PAGE", ".page.xml", "application/xml"),
    "hocr": ("hOCR", ".hocr", "text/html"),
    "pdf": ("Searchable PDF", ".pdf", "application/pdf"),
}


def is_zipped(fmt: str, page_count: int) -> bool:
    return fmt in PER_PAGE_FORMATS and page_count > 1


def download_name(fmt: str, stem: str, page_count: int) -> Tuple[str, str]:
    """(file name, MIME type) of the download, known before its contents are made."""
    _, suffix, mime = DOWNLOADS[fmt]
    return (f"{stem}{suffix}.zip", "application/zip") if is_zipped(fmt, page_count) else (stem + suffix, mime)


def export(doc: Document, fmt: str, stem: str, images: List) -> bytes:
    """The contents of `doc` in `fmt`; `images` are the page images, for the PDF."""
    contents = render(doc, fmt, images if fmt == "pdf" else None)
    if not is_zipped(fmt, len(doc.pages)):
        return contents[0].encode("utf-8") if isinstance(contents[0], str) else contents[0]
    buffer = io.BytesIO()
    _, suffix, _ = DOWNLOADS[fmt]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in zip(page_paths(Path(stem + suffix), len(contents)), contents):
            archive.writestr(path.name, data)
    return buffer.getvalue()


def download_stem(sources: List[str]) -> str:
    """The name downloads are saved under: the file's own for one file, a generic one for several."""
    files = {Path(s.split("#")[0]).stem for s in sources}
    return files.pop() if len(files) == 1 else "transcription"
