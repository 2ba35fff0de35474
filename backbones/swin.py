"""Swin Transformer (Liu et al. 2021) for text lines: shifted-window attention and patch merging.

Attention runs inside M_h x M_w windows (cost O(N M^2) instead of O(N^2)); every other block shifts the windows by M/2
with a cyclic roll and masks attention between tokens that the roll brought together across the border. Between
stages, patch merging concatenates 2x2 neighbours and projects them: resolution / 2, width x 2.
For wide, short lines the window is wider than tall and clipped to the rows a stage has; a stage with no more rows than
its window shifts only horizontally. Padding tokens are zeroed before every merge and masked in every window, so a
line's features do not depend on the width of its batch.
Relative position bias only tells a token where its window neighbours are; the decoder must also know where along the
line a feature lies, so an absolute E_pos (the Swin paper's "ape" option, 2-D sine-cosine start) is added to the patch
embedding.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Encoder
from .layers import MLP, DropPath, MultiHeadSelfAttention, attention_mask, drop_path_rates, pair, sincos_2d
from .registry import register_encoder


def window_partition(x, window):
    """(B, h, w, ...) -> (B * nW, M_h * M_w, ...), windows in row-major order."""
    B, h, w = x.shape[:3]
    Mh, Mw = window
    x = x.reshape(B, h // Mh, Mh, w // Mw, Mw, *x.shape[3:]).transpose(2, 3)
    return x.reshape(B * (h // Mh) * (w // Mw), Mh * Mw, *x.shape[5:])


def window_reverse(windows, window, h, w):
    """Inverse of window_partition: (B * nW, M_h * M_w, D) -> (B, h, w, D)."""
    Mh, Mw = window
    D = windows.shape[-1]
    x = windows.reshape(-1, h // Mh, w // Mw, Mh, Mw, D).transpose(2, 3)
    return x.reshape(-1, h, w, D)


def shift_regions(h, w, window, shift, device=None):
    """Region label of every token of the rolled grid: tokens the roll wrapped across a border get their own label."""
    labels = torch.zeros(h, w, dtype=torch.long, device=device)
    rows = (slice(0, h - window[0]), slice(h - window[0], h - shift[0]), slice(h - shift[0], h)) if shift[0] else (slice(0, h),)
    cols = (slice(0, w - window[1]), slice(w - window[1], w - shift[1]), slice(w - shift[1], w)) if shift[1] else (slice(0, w),)
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            labels[r, c] = i * len(cols) + j
    return labels


def shifted_window_mask(h, w, window, shift, device=None):
    """(nW, T, T) True where two tokens of a window may attend: same region of the rolled grid."""
    regions = window_partition(shift_regions(h, w, window, shift, device)[None], window)  # (nW, T)
    return regions[:, :, None] == regions[:, None, :]


class RelativePositionBias(nn.Module):
    """A learned bias per head for every relative offset (dy, dx) inside an M_h x M_w window."""

    def __init__(self, window, heads):
        super().__init__()
        Mh, Mw = window
        self.table = nn.Parameter(torch.zeros((2 * Mh - 1) * (2 * Mw - 1), heads))
        nn.init.trunc_normal_(self.table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(Mh), torch.arange(Mw), indexing="ij")).flatten(1)  # (2, T)
        rel = coords[:, :, None] - coords[:, None, :]  # (2, T, T)
        index = (rel[0] + Mh - 1) * (2 * Mw - 1) + (rel[1] + Mw - 1)
        self.register_buffer("index", index, persistent=False)

    def forward(self):  # (1, heads, T, T)
        return self.table[self.index].permute(2, 0, 1)[None]


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, window, shift, mlp_ratio=4.0, dropout=0.0, drop_path=0.0):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MultiHeadSelfAttention(dim, heads, dropout)
        self.bias = RelativePositionBias(window, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, mlp_ratio, dropout)
        self.drop_path = DropPath(drop_path)

    def forward(self, x, valid):  # x (B, h, w, D), valid (B, h, w); h, w multiples of the window
        B, h, w, D = x.shape
        y = self.norm1(x)
        if any(self.shift):
            y = torch.roll(y, (-self.shift[0], -self.shift[1]), dims=(1, 2))
            valid = torch.roll(valid, (-self.shift[0], -self.shift[1]), dims=(1, 2))
        windows = window_partition(y, self.window)  # (B * nW, T, D)
        mask = attention_mask(window_partition(valid, self.window))  # (B * nW, 1, T, T)
        if any(self.shift):
            regions = shifted_window_mask(h, w, self.window, self.shift, x.device)  # (nW, T, T)
            mask = (mask.view(B, -1, *mask.shape[-2:]) & regions[None]).view_as(mask)
        y = window_reverse(self.attn(windows, mask, self.bias()), self.window, h, w)
        if any(self.shift):
            y = torch.roll(y, self.shift, dims=(1, 2))
        x = x + self.drop_path(y)
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    """Concatenate each 2x2 group of tokens (4D) and project to 2D: (B, h, w, D) -> (B, h/2, w/2, 2D)."""

    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        x = F.pad(x, (0, 0, 0, x.shape[2] % 2))  # odd width: one zero column, as padding
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x))


class Swin(Encoder):
    def __init__(self, height=32, max_width=1024, patch=4, dim=64, depths=(2, 2, 2), heads=(2, 4, 8), window=(4, 8),
                 mlp_ratio=4.0, in_chans=1, drop_path=0.0, dropout=0.0, absolute_position=True):
        super().__init__()
        self.patch, window = pair(patch), pair(window)
        stages = len(depths)
        if height % (self.patch[0] * 2 ** (stages - 1)):
            raise ValueError(f"height {height} must be a multiple of patch height x 2^(stages - 1)")
        self.height, self.max_width = height, max_width
        self.dim = dim * 2 ** (stages - 1)
        self.width_multiple = self.patch[1] * 2 ** (stages - 1)
        self.patch_embed = nn.Conv2d(in_chans, dim, kernel_size=self.patch, stride=self.patch)
        self.patch_norm = nn.LayerNorm(dim)
        grid = (height // self.patch[0], max_width // self.patch[1])
        self.pos_embed = nn.Parameter(sincos_2d(dim, *grid)) if absolute_position else None
        rates = iter(drop_path_rates(drop_path, sum(depths)))
        self.stages, self.merges, self.windows = nn.ModuleList(), nn.ModuleList(), []
        rows = height // self.patch[0]
        for i, (depth, h) in enumerate(zip(depths, heads)):
            d = dim * 2 ** i
            stage_window = (min(window[0], rows), window[1])
            if rows % stage_window[0]:
                raise ValueError(f"stage {i + 1} has {rows} rows, not a multiple of the window height {stage_window[0]}")
            shift = (stage_window[0] // 2 if rows > stage_window[0] else 0, stage_window[1] // 2)
            self.stages.append(nn.ModuleList(
                SwinBlock(d, h, stage_window, shift if b % 2 else (0, 0), mlp_ratio, dropout, next(rates))
                for b in range(depth)))
            self.windows.append(stage_window)
            if i < stages - 1:
                self.merges.append(PatchMerging(d))
                rows //= 2
        self.norm = nn.LayerNorm(self.dim)

    def grid(self, width: int) -> tuple:
        cols = -(-width // self.patch[1])
        for _ in self.merges:
            cols = -(-cols // 2)
        return self.height // self.patch[0] // 2 ** len(self.merges), cols

    def forward_stages(self, images, widths):
        """Every stage's output, (B, h_i, w_i, D_i), and the column validity (B, w_i) of the last."""
        self.check_input(images)
        x = self.patch_norm(self.patch_embed(images).permute(0, 2, 3, 1))  # (B, h, w, D)
        if self.pos_embed is not None:
            if x.shape[2] > self.pos_embed.shape[3]:
                raise ValueError(f"line width {images.shape[-1]} exceeds the encoder's max_width {self.max_width}")
            x = x + self.pos_embed[:, :, :, :x.shape[2]].permute(0, 2, 3, 1)
        columns = torch.div(widths + self.patch[1] - 1, self.patch[1], rounding_mode="floor")
        outputs = []
        for i, blocks in enumerate(self.stages):
            if i:
                x = self.merges[i - 1](x * valid[:, None, :, None])
                columns = torch.div(columns + 1, 2, rounding_mode="floor")
            w = x.shape[2]
            Mw = self.windows[i][1]
            x = F.pad(x, (0, 0, 0, -w % Mw))  # whole windows
            valid = torch.arange(x.shape[2], device=x.device)[None, :] < columns[:, None]  # (B, w)
            x = x * valid[:, None, :, None]
            valid_grid = valid[:, None, :].expand(-1, x.shape[1], -1)
            for block in blocks:
                x = block(x, valid_grid)
            x, valid = x[:, :, :w], valid[:, :w]
            outputs.append(x)
        return outputs, valid

    def forward(self, images, widths):
        stages, valid = self.forward_stages(images, widths)
        x = self.norm(stages[-1])
        B, h, w, D = x.shape
        return x.reshape(B, h * w, D), valid.repeat(1, h)


@register_encoder
def swin_tiny():
    return Swin, dict(height=32, patch=4, dim=48, depths=(2, 2, 2), heads=(2, 4, 8), window=(4, 8))


@register_encoder
def swin_small():
    return Swin, dict(height=48, patch=(6, 4), dim=64, depths=(2, 2, 4), heads=(2, 4, 8), window=(4, 8))


@register_encoder
def swin_base():
    return Swin, dict(height=64, patch=4, dim=64, depths=(2, 2, 6, 2), heads=(2, 4, 8, 16), window=(4, 8))
