"""Pictures for the app: the page with its lines coloured by confidence, and a line under its attention heat map."""
import colorsys
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw

from ocr.document import Line

DISPLAY_MAX_SIDE = 1600  # the page is sent to the browser on every rerun: a smaller copy keeps that quick
SELECTED = (40, 110, 255, 70)  # translucent blue fill for the selected line


def confidence_colour(confidence: float) -> Tuple[int, int, int]:
    """Red (0) through yellow to green (1)."""
    r, g, b = colorsys.hsv_to_rgb(max(0.0, min(1.0, confidence)) / 3, 0.9, 0.85)
    return int(r * 255), int(g * 255), int(b * 255)


def page_overlay(image: Image.Image, lines: List[Line], selected: Optional[str] = None) -> Image.Image:
    """The page (scaled down if large) with each line's outline in its confidence colour; `selected` filled."""
    scale = min(1.0, DISPLAY_MAX_SIDE / max(image.size))
    page = image.convert("RGBA")
    if scale < 1:
        page = page.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR)
    layer = Image.new("RGBA", page.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    width = max(2, round(max(page.size) / 300))  # the browser shows the page smaller still
    for line in lines:
        polygon = [(x * scale, y * scale) for x, y in line.polygon]
        fill = SELECTED if line.id == selected else None
        draw.polygon(polygon, outline=confidence_colour(line.confidence) + (255,), fill=fill, width=width)
    return Image.alpha_composite(page, layer).convert("RGB")


def attention_overlay(line: np.ndarray, heat: np.ndarray, strength: float = 0.75) -> Image.Image:
    """The preprocessed line (H, W; ink 1, paper 0) drawn dark on white, with `heat` (rows, cols of the encoder's
    grid) stretched over it in red-yellow: where the decoder looked."""
    height, width = line.shape
    heat = heat / max(float(heat.max()), 1e-9)
    heat = np.asarray(Image.fromarray(heat.astype(np.float32), "F").resize((width, height), Image.Resampling.BILINEAR))
    paper = (1.0 - line)[..., None] * np.ones(3)
    colour = np.stack([np.ones_like(heat), heat, np.zeros_like(heat)], axis=-1)  # red, turning yellow where hot
    alpha = (strength * heat)[..., None]
    return Image.fromarray(np.uint8(255 * np.clip(paper * (1 - alpha) + colour * alpha, 0, 1)))
