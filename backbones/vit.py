"""ViT for text lines (Dosovitskiy et al. 2021, "An Image is Worth 16x16 Words").

patchify -> conv patch embedding -> optional [CLS] -> + E_pos -> L pre-norm blocks -> LN.
Patches may be non-square: a (16, 8) patch on a 32-pixel line gives a 2-row grid with a column every 8 pixels.
E_pos is learned over the 2-D grid of the widest line (starting from the 2-D sine-cosine table); narrower lines use its first columns, so a line's features do
not depend on the width of the batch it is padded into.
"""
import torch
import torch.nn as nn

from .base import Encoder, column_mask
from .layers import Block, attention_mask, drop_path_rates, pair, sincos_2d
from .registry import register_encoder


class PatchEmbed(nn.Module):
    """E = X_patch W + b for every P_h x P_w patch, as one convolution with kernel = stride = P."""

    def __init__(self, patch, in_chans: int, dim: int):
        super().__init__()
        self.patch = pair(patch)
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=self.patch, stride=self.patch)

    def forward(self, images):  # (B, C, H, W) -> (B, D, H/P_h, W/P_w)
        return self.proj(images)


class ViT(Encoder):
    num_prefix_tokens = 1  # [CLS]

    def __init__(self, height=32, max_width=1024, patch=(16, 8), dim=192, depth=6, heads=3, mlp_ratio=4.0,
                 cls_token=True, in_chans=1, drop_path=0.0, dropout=0.0):
        super().__init__()
        self.patch = pair(patch)
        if height % self.patch[0] or max_width % self.patch[1]:
            raise ValueError(f"height {height} and max_width {max_width} must be multiples of the patch {self.patch}")
        self.dim, self.height, self.max_width, self.width_multiple = dim, height, max_width, self.patch[1]
        self.patch_embed = self.build_stem(in_chans, dim)
        self.prefix = nn.Parameter(torch.zeros(1, self.num_prefix_tokens, dim)) if cls_token else None
        self.prefix_tokens = self.num_prefix_tokens if cls_token else 0
        grid = (height // self.patch[0], max_width // self.patch[1])
        self.pos_embed = nn.Parameter(sincos_2d(dim, *grid))  # E_pos over the (rows, columns) grid, learned
        self.prefix_pos = nn.Parameter(torch.randn(1, self.num_prefix_tokens, dim) * 0.02) if cls_token else None
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, dropout, p) for p in drop_path_rates(drop_path, depth))
        self.norm = nn.LayerNorm(dim)
        if self.prefix is not None:
            nn.init.trunc_normal_(self.prefix, std=0.02)

    def grid(self, width: int) -> tuple:
        return self.height // self.patch[0], -(-width // self.patch[1])

    def build_stem(self, in_chans, dim):
        return PatchEmbed(self.patch, in_chans, dim)

    def patchify(self, images, widths):  # (B, C, H, W) -> (B, D, rows, cols)
        return self.patch_embed(images)

    def embed(self, images, widths):
        """Patch tokens + E_pos, with [CLS] (and DeiT's distillation token) in front: (B, T, D), (B, T)."""
        self.check_input(images)
        x = self.patchify(images, widths)  # (B, D, rows, cols)
        B, D, rows, cols = x.shape
        if cols > self.pos_embed.shape[3]:
            raise ValueError(f"line width {images.shape[-1]} exceeds the encoder's max_width {self.max_width}")
        x = (x + self.pos_embed[:, :, :, :cols]).flatten(2).transpose(1, 2)  # (B, N, D), row-major
        mask = column_mask(widths, self.patch[1], cols).repeat(1, rows)  # (B, N)
        if self.prefix is not None:
            x = torch.cat([(self.prefix + self.prefix_pos).expand(B, -1, -1), x], dim=1)  # (B, N + prefix, D)
            mask = torch.cat([mask.new_ones(B, self.num_prefix_tokens), mask], dim=1)
        return x, mask

    def forward(self, images, widths):
        x, mask = self.embed(images, widths)
        attn_mask = None if bool(mask.all()) else attention_mask(mask)  # no mask lets SDPA take its fastest path
        for block in self.blocks:
            x = block(x, attn_mask)
        return self.norm(x), mask


@register_encoder
def vit_tiny():
    return ViT, dict(height=32, patch=(16, 8), dim=192, depth=4, heads=3)


@register_encoder
def vit_small():
    return ViT, dict(height=48, patch=(16, 8), dim=256, depth=6, heads=4)


@register_encoder
def vit_base():
    return ViT, dict(height=64, patch=(16, 8), dim=384, depth=8, heads=6)
