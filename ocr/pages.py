"""Inputs to pages: image files (TIFF pages too), PDFs rasterised with pypdfium2, folders and globs.

Each page comes out as a grayscale PIL image with where it came from; a file that cannot be read raises a
VitocrError naming it, so a batch can report it and carry on with the next file.
"""
import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional

from PIL import Image, ImageSequence, UnidentifiedImageError

from .errors import VitocrError
from .images import MAX_PIXELS, load_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".jp2", ".pbm", ".pgm", ".ppm"}
PAGE_SUFFIXES = IMAGE_SUFFIXES | {".pdf"}


@dataclass
class PageImage:
    image: Image.Image  # mode "L"
    source: str  # file, with "#N" for the N-th page of a PDF or TIFF (1-based)
    dpi: Optional[float] = None


def expand_inputs(inputs) -> List[Path]:
    """Files from paths, folders (their page files, sorted) and glob patterns, in the order given."""
    files = []
    for item in map(str, inputs):
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in PAGE_SUFFIXES)
            if not found:
                raise VitocrError(f"{item}: no images or PDFs in this folder ({', '.join(sorted(PAGE_SUFFIXES))}).")
            files += found
        elif any(c in item for c in "*?["):
            matches = sorted(Path(p) for p in glob.glob(item, recursive=True))
            if not matches:
                raise VitocrError(f"{item}: no file matches this pattern.")
            files += [p for p in matches if p.suffix.lower() in PAGE_SUFFIXES]
        else:
            files.append(path)
    return files


def iter_pages(path, dpi: int = 300) -> Iterator[PageImage]:
    """Every page of one file."""
    path = Path(path)
    if not path.exists():
        raise VitocrError(f"{path}: no such file.")
    if path.suffix.lower() == ".pdf":
        yield from pdf_pages(path, dpi)
    elif path.suffix.lower() in (".tif", ".tiff"):
        yield from tiff_pages(path)
    else:
        image = load_image(path)
        yield PageImage(image, str(path), image_dpi(image))


def image_dpi(image) -> Optional[float]:
    dpi = image.info.get("dpi")
    return float(dpi[0]) if dpi and dpi[0] else None


def tiff_pages(path: Path) -> Iterator[PageImage]:
    try:
        with Image.open(path) as im:
            frames = getattr(im, "n_frames", 1)
            for n, frame in enumerate(ImageSequence.Iterator(im), 1):
                if frame.width * frame.height > MAX_PIXELS:
                    raise VitocrError(f"{path}#{n}: {frame.width}x{frame.height} pixels is over the "
                                      f"{MAX_PIXELS:,} pixel limit; scale it down first.")
                yield PageImage(frame.convert("L"), f"{path}#{n}" if frames > 1 else str(path), image_dpi(frame))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise VitocrError(f"{path}: not a readable TIFF ({e}); check the file or convert it to PNG.") from None


def pdf_pages(path: Path, dpi: int) -> Iterator[PageImage]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        hint = "it is password-protected" if "password" in str(e).lower() else "it is damaged or not a PDF"
        raise VitocrError(f"{path}: cannot open this PDF ({hint}: {e}).") from None
    try:
        if len(pdf) == 0:
            raise VitocrError(f"{path}: the PDF has no pages.")
        for n in range(len(pdf)):
            page = pdf[n]
            width, height = page.get_size()  # points
            scale = min(dpi / 72, (MAX_PIXELS / max(width * height, 1)) ** 0.5)  # keep huge pages bounded
            image = page.render(scale=scale, grayscale=True).to_pil().convert("L")
            yield PageImage(image, f"{path}#{n + 1}", scale * 72)
    finally:
        pdf.close()
