"""The contract every encoder keeps, so the decoder never needs to know which one it reads."""
import torch
import torch.nn as nn

from .layers import resize_grid


class Encoder(nn.Module):
    """images (B, C, H, W) padded on the right + true widths (B,) -> features (B, N, D) + validity mask (B, N).

    Attributes: ``dim`` (D), ``height`` (the fixed input H), ``width_multiple`` (input widths are rounded up to it),
    ``config`` (set by the registry: name and hyper-parameters that rebuild it).
    """

    dim: int
    height: int
    width_multiple: int
    prefix_tokens: int = 0  # tokens before the grid ([CLS], [DIST])

    def grid(self, width: int) -> tuple:
        """(rows, cols) of the token grid that follows the prefix tokens, for a line `width` pixels wide."""
        raise NotImplementedError

    def check_input(self, images: torch.Tensor):
        if images.shape[-2] != self.height:
            raise ValueError(f"encoder expects images of height {self.height}, got {images.shape[-2]}")
        if images.shape[-1] % self.width_multiple:
            raise ValueError(f"image width {images.shape[-1]} is not a multiple of {self.width_multiple}")

    def resize_width(self, max_width: int):
        """Make the encoder accept lines up to `max_width` pixels: E_pos (if any) is interpolated bicubically to the
        new number of patch columns."""
        if max_width % self.width_multiple:
            raise ValueError(f"max_width {max_width} must be a multiple of {self.width_multiple}")
        if getattr(self, "pos_embed", None) is not None:
            with torch.no_grad():
                rows = self.pos_embed.shape[2]
                self.pos_embed = nn.Parameter(resize_grid(self.pos_embed, rows, max_width // self.patch[1]))
        self.max_width = max_width
        if getattr(self, "config", None):
            self.config["max_width"] = max_width


def column_mask(widths: torch.Tensor, stride: int, columns: int) -> torch.Tensor:
    """(B,) pixel widths -> (B, columns) True where a token column lies on the line, not on padding."""
    valid_columns = torch.div(widths + stride - 1, stride, rounding_mode="floor")
    return torch.arange(columns, device=widths.device)[None, :] < valid_columns[:, None]
