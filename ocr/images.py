"""The one image loader: every image the project reads (lines, pages, uploads) comes through here.

Sizes are bounded so a corrupt or hostile file cannot exhaust memory: Pillow's decompression-bomb check is kept and
our own pixel limit applies.
"""
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from .errors import VitocrError

MAX_PIXELS = 120_000_000  # an A3 page at 600 dpi is about 70 Mpx
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def load_image(path, mode: str = "L") -> Image.Image:
    """Open an image file, apply its EXIF orientation, convert to `mode`; a VitocrError says what is wrong."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                raise VitocrError(f"{path}: {im.width}x{im.height} pixels is over the {MAX_PIXELS:,} pixel limit; "
                                  f"scale it down first.")
            return ImageOps.exif_transpose(im).convert(mode)
    except FileNotFoundError:
        raise VitocrError(f"{path}: no such file.") from None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as e:
        raise VitocrError(f"{path}: not a readable image ({e}); check the file or convert it to PNG.") from None


def cut_line(page: Image.Image, box, polygon=None) -> Image.Image:
    """A line's box from its page; with a polygon, what lies outside the outline becomes the paper colour."""
    line = page.crop(tuple(box))
    if polygon:
        x0, y0 = box[:2]
        mask = Image.new("L", line.size, 0)
        ImageDraw.Draw(mask).polygon([(x - x0, y - y0) for x, y in polygon], fill=255)
        paper = Image.new("L", line.size, int(np.percentile(np.asarray(line), 75)))
        line = Image.composite(line, paper, mask)
    return line
