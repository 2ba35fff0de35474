"""Searchable PDF: each page image drawn full-page, with an invisible text layer (render mode 3) over it.

Each line's text is one run of the GlyphLessFont, sized to the line box height and stretched (Tz) to its width, so
every character gets an equal share of the line: exactly the word boxes `Line.words()` gives, so selecting a word
highlights where the word is. Pages are sized from `page.dpi` (300 if unknown)."""
import io
from typing import Dict, List, Optional

import numpy as np
from PIL import Image

from ..document import Document, Line
from .glyphless_font import ADVANCE, ASCENT, UNITS_PER_EM, glyphless_truetype, to_unicode_cmap
from .pdf_file import PdfFile
from .xml_support import number, software_version

DEFAULT_DPI = 300
LOSSLESS_MAX_PIXELS = 65536  # small images (a line, a snippet) stay lossless: JPEG would save little and blur text


def flatten(image: Image.Image) -> Image.Image:
    """Bilevel, gray and RGB go in as they are; anything else (alpha, palette, 16-bit, CMYK) onto white RGB/gray."""
    if image.mode in ("1", "L", "RGB"):
        return image
    if image.mode.startswith("I;16"):  # PIL would clip 16-bit values to 255 (white): keep the high byte instead
        return Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
    gray = image.mode in ("LA", "La", "I", "F")
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", image.size, "white")
    return Image.alpha_composite(background, rgba).convert("L" if gray else "RGB")


def add_image(pdf: PdfFile, image: Image.Image) -> int:
    image = flatten(image)
    space = "/DeviceRGB" if image.mode == "RGB" else "/DeviceGray"
    head = f"/Type /XObject /Subtype /Image /Width {image.width} /Height {image.height} /ColorSpace {space}"
    if image.mode == "1":  # PIL packs 1 bit a pixel, rows padded to a byte, 1 = white: PDF's layout exactly
        return pdf.add_stream(head + " /BitsPerComponent 1", image.tobytes())
    if image.width * image.height <= LOSSLESS_MAX_PIXELS:
        return pdf.add_stream(head + " /BitsPerComponent 8", image.tobytes())
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return pdf.add_stream(head + " /BitsPerComponent 8 /Filter /DCTDecode", buffer.getvalue(), compress=False)


def add_font(pdf: PdfFile, characters: List[str]) -> int:
    """A Type0 font (Identity-H: 2-byte codes) over a CIDFontType2 whose codes all draw the empty glyph 1."""
    # Descent -1 rather than 0: poppler reads 0 as "unknown" and assumes -0.35 em, boxes reaching below the line
    truetype = glyphless_truetype()
    font_file = pdf.add_stream(f"/Length1 {len(truetype)}", truetype)
    descriptor = pdf.add(f"<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 /FontBBox [0 0 {ADVANCE} "
                         f"{ASCENT}] /ItalicAngle 0 /Ascent {ASCENT} /Descent -1 /CapHeight {ASCENT} /StemV 80 "
                         f"/FontFile2 {font_file} 0 R >>")
    cid_to_gid = pdf.add_stream("", b"\0\0" + b"\0\1" * len(characters))
    cid_font = pdf.add(f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont /CIDSystemInfo << /Registry "
                       f"(Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {descriptor} 0 R "
                       f"/DW {ADVANCE * 1000 // UNITS_PER_EM} /CIDToGIDMap {cid_to_gid} 0 R >>")
    to_unicode = pdf.add_stream("", to_unicode_cmap(characters))
    return pdf.add(f"<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding /Identity-H "
                   f"/DescendantFonts [{cid_font} 0 R] /ToUnicode {to_unicode} 0 R >>")


def text_run(line: Line, codes: Dict[str, int], scale: float, page_height: float) -> str:
    """Operators placing the line's text on its box: baseline on the box bottom, glyphs one box height tall."""
    x0, y0, x1, y1 = line.box
    size, width = (y1 - y0) * scale, (x1 - x0) * scale
    if not line.text or size <= 0 or width <= 0:
        return ""
    natural_width = len(line.text) * size * ADVANCE / UNITS_PER_EM
    hex_codes = "".join(f"{codes[ch]:04X}" for ch in line.text)
    return (f"/F1 {number(size)} Tf {number(100 * width / natural_width)} Tz "
            f"1 0 0 1 {number(x0 * scale)} {number(page_height - y1 * scale)} Tm <{hex_codes}> Tj\n")


def to_pdf(doc: Document, images: List[Optional[Image.Image]]) -> bytes:
    """One PDF page per document page; images[i] is drawn under page i. A None image gives a text-only page, the
    layer to lay over an existing PDF page (as OCRmyPDF does)."""
    if not doc.pages:
        raise ValueError("the document has no pages, and a PDF needs one at least.")
    if len(images) != len(doc.pages):
        raise ValueError(f"{len(images)} page images for {len(doc.pages)} pages: give one image (or None) per page.")
    characters = list(dict.fromkeys(ch for page in doc.pages for line in page.lines for ch in line.text))
    if len(characters) > 0xFFFF:
        raise ValueError(f"{len(characters)} distinct characters: a PDF font holds 65535 at most.")
    codes = {ch: i for i, ch in enumerate(characters, 1)}
    pdf = PdfFile()
    catalog, pages, info = pdf.reserve(), pdf.reserve(), pdf.reserve()
    font = add_font(pdf, characters)
    kids = []
    for page, image in zip(doc.pages, images):
        scale = 72 / (page.dpi or DEFAULT_DPI)
        width, height = page.width * scale, page.height * scale
        content, xobjects = "", ""
        if image is not None:
            xobjects = f"/XObject << /Im1 {add_image(pdf, image)} 0 R >>"
            content = f"q {number(width)} 0 0 {number(height)} 0 0 cm /Im1 Do Q\n"
        content += "BT 3 Tr\n" + "".join(text_run(line, codes, scale, height) for line in page.lines) + "ET\n"
        stream = pdf.add_stream("", content.encode("ascii"))
        kids.append(pdf.add(f"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {number(width)} {number(height)}] "
                            f"/Resources << /Font << /F1 {font} 0 R >> {xobjects} >> /Contents {stream} 0 R >>"))
    pdf.add(f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>", pages)
    pdf.add(f"<< /Type /Catalog /Pages {pages} 0 R >>", catalog)
    pdf.add(f"<< /Producer (vitocr {software_version()}) >>", info)
    return pdf.to_bytes(catalog, info)
