"""The one image loader: every image the project reads (lines, pages, uploads) comes through here.

Sizes are bounded so a corrupt or hostile file cannot exhaust memory: Pillow's decompression-bomb check is kept and
our own pixel limit applies.
"""
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

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
