"""Hybrid CNN-Transformer: a small ResNet-style stem extracts local features and downsamples, then ViT blocks.

The stem gives the locality and weight sharing a CNN has for free (its inductive bias); attention then relates them
globally. Before every convolution the columns beyond the line's width are zeroed, exactly what a convolution's own
zero padding does at the edge of a line decoded alone, so batching with wider lines changes nothing.
"""
import math

import torch.nn as nn
import torch.nn.functional as F

from .base import column_mask
from .registry import register_encoder
from .vit import ViT


def zero_padding_columns(x, widths, stride):
    return x * column_mask(widths, stride, x.shape[-1])[:, None, None, :].to(x.dtype)


class ResidualBlock(nn.Module):
    """conv3x3(stride) -> BN -> ReLU -> conv3x3 -> BN, plus a shortcut (projected, or the input itself), -> ReLU."""

    def __init__(self, c_in, c_out, stride, project: bool = True):
        super().__init__()
        self.stride = stride
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                         if project else nn.Identity())

    def forward(self, x, widths, stride_in):  # x already zeroed beyond the line
        y = F.relu(self.bn1(self.conv1(x)))
        stride_out = stride_in * self.stride[1]
        y = self.bn2(self.conv2(zero_padding_columns(y, widths, stride_out)))
        return F.relu(y + self.shortcut(x)), stride_out


class CNNStem(nn.Module):
    """A stage per stride: its first block changes resolution and width; `depth` - 1 more keep both (`refine`)."""

    def __init__(self, in_chans, channels, strides, dim, depth=1):
        super().__init__()
        self.conv = nn.Conv2d(in_chans, channels[0], 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels[0])
        self.blocks = nn.ModuleList(ResidualBlock(a, b, tuple(s))
                                    for a, b, s in zip((channels[0],) + tuple(channels[:-1]), channels, strides))
        self.refine = nn.ModuleList(nn.ModuleList(ResidualBlock(c, c, (1, 1), project=False) for _ in range(depth - 1))
                                    for c in channels)
        self.proj = nn.Conv2d(channels[-1], dim, 1)

    def forward(self, images, widths):  # (B, C, H, W) -> (B, D, H / prod(strides_h), W / prod(strides_w))
        x = F.relu(self.bn(self.conv(zero_padding_columns(images, widths, 1))))
        stride = 1
        for block, refine in zip(self.blocks, self.refine):
            for b in (block, *refine):
                x, stride = b(zero_padding_columns(x, widths, stride), widths, stride)
        return self.proj(x)


class Hybrid(ViT):
    def __init__(self, channels=(32, 64, 96, 128), strides=((2, 2), (2, 2), (2, 2), (2, 1)), stem_depth=1, **kwargs):
        if stem_depth < 1:
            raise ValueError(f"stem_depth must be at least 1 (residual blocks per stage of the stem), got {stem_depth}")
        self.channels, self.strides, self.stem_depth = tuple(channels), tuple(tuple(s) for s in strides), stem_depth
        total = tuple(math.prod(s[axis] for s in self.strides) for axis in (0, 1))  # (rows, columns) per token
        super().__init__(patch=total, **kwargs)

    def build_stem(self, in_chans, dim):
        return CNNStem(in_chans, self.channels, self.strides, dim, self.stem_depth)

    def patchify(self, images, widths):
        return self.patch_embed(images, widths)


@register_encoder
def hybrid_tiny():
    return Hybrid, dict(height=32, channels=(32, 64, 96, 128), dim=192, depth=2, heads=3)


@register_encoder
def hybrid_small():
    return Hybrid, dict(height=48, channels=(32, 64, 128, 192), strides=((2, 2), (2, 2), (3, 2), (2, 1)), dim=256,
                        depth=4, heads=4)


@register_encoder
def hybrid_base():
    return Hybrid, dict(height=64, channels=(64, 96, 192, 256), strides=((2, 2), (2, 2), (2, 2), (4, 1)), dim=384,
                        depth=6, heads=6)
