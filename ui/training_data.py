"""Corrected lines saved as training data: `name.png` + `name.gt.txt` pairs, the layout `vitocr train` reads."""
import io
import re
from pathlib import Path
from typing import Iterable, List, Tuple

from PIL import Image

from ocr.atomic import write_atomic


def line_name(source: str, line_id: str) -> str:
    """A file name unique per page and line: `scan-p2-r1l3` for line r1l3 of page 2 of scan.pdf."""
    file, _, page = source.partition("#")
    name = f"{Path(file).stem}-p{page or 1}-{line_id}"
    return re.sub(r"[^\w.-]+", "_", name)


def save_lines(folder, lines: Iterable[Tuple[str, Image.Image, str]]) -> List[Path]:
    """Write each (name, line image, text) as name.png + name.gt.txt in `folder` (made if missing, pairs of the
    same name replaced); returns the PNGs. Lines with no text are skipped: an empty transcription trains nothing."""
    folder = Path(folder).expanduser()
    written = []
    for name, image, text in lines:
        text = " ".join(text.splitlines()).strip()  # one line, as a .gt.txt holds
        if not text:
            continue
        png = io.BytesIO()
        image.save(png, format="PNG")
        written.append(write_atomic(folder / f"{name}.png", png.getvalue()))
        write_atomic(folder / f"{name}.gt.txt", text + "\n")
    return written
