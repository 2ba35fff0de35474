"""The one preprocessing of a line image, used by recognition and training alike.

Grayscale, background subtracted (paper -> 0, ink -> 1), height H with the aspect ratio kept, width rounded up to the
encoder's multiple with background and capped at its maximum; batches pad on the right with background.
"""
import numpy as np
import torch
from PIL import Image


def line_to_tensor(image: Image.Image, height: int, width_multiple: int, max_width: int,
                   width_scale: float = 1.0, margin: float = 0.0) -> torch.Tensor:
    """PIL image of one text line -> float tensor (1, height, w), w a multiple of `width_multiple`, <= max_width.
    Other views of the line, for test-time augmentation: `width_scale` < 1 squeezes it; `margin` > 0 shrinks it
    between bands of paper that share of its height, above and below (zoomed out)."""
    gray = image.convert("L")
    inner = max(1, round(height / (1 + 2 * margin)))
    w = max(1, round(gray.width * inner / max(gray.height, 1) * width_scale))
    w = min(w, max_width)
    gray = gray.resize((w, inner), Image.Resampling.BILINEAR)
    pixels = np.asarray(gray, dtype=np.float32)
    background = np.percentile(pixels, 90)  # most of a line is paper
    ink = np.clip((background - pixels) / max(background, 32.0), 0.0, 1.0)
    padded = np.zeros((height, min(-(-w // width_multiple) * width_multiple, max_width)), dtype=np.float32)
    top = (height - inner) // 2
    padded[top:top + inner, :w] = ink[:, : padded.shape[1]]
    return torch.from_numpy(padded)[None]


def collate_lines(lines):
    """List of (1, H, w_i) tensors -> images (B, 1, H, max w_i) padded with background, widths (B,)."""
    widths = torch.tensor([t.shape[-1] for t in lines])
    batch = torch.zeros(len(lines), 1, lines[0].shape[-2], int(widths.max()))
    for i, t in enumerate(lines):
        batch[i, :, :, : t.shape[-1]] = t
    return batch, widths
