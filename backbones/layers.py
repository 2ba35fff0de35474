"""Building blocks shared by the encoders: pre-norm Transformer block, MSA with SDPA, MLP, DropPath."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def pair(value):
    """(h, w) from an int or a pair, so non-square sizes are first-class."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def attention_mask(valid: torch.Tensor) -> torch.Tensor:
    """(B, N) validity -> (B, 1, N, N) boolean SDPA mask.

    A valid query sees valid keys only; a padding query sees everything, so no row is all -inf (which gives NaN).
    """
    return (valid[:, None, :] | ~valid[:, :, None])[:, None]


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch per sample during training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty((x.shape[0],) + (1,) * (x.ndim - 1), device=x.device, dtype=x.dtype).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class MultiHeadSelfAttention(nn.Module):
    """MSA(X) = Concat(head_1..head_h) W_O with head_i = softmax(Q K^T / sqrt(d)) V."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        assert dim % heads == 0, f"embedding dimension {dim} must be divisible by the number of heads {heads}"
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(self, x, mask=None, bias=None):
        B, N, D = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)  # (B, h, N, d)
        if bias is not None:  # additive float bias (Swin's relative positions), combined with the boolean mask
            mask = bias if mask is None else bias.masked_fill(~mask, float("-inf"))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, N, D))


class MLP(nn.Module):
    """MLP(x) = W2 GELU(W1 x + b1) + b2, hidden width = ratio * D; dropout on the output only (no dropout on the
    4x wider hidden layer: TrOCR's activation_dropout = 0, and it costs a mask per hidden unit)."""

    def __init__(self, dim: int, ratio: float = 4.0, dropout: float = 0.0):
        super().__init__()
        hidden = int(dim * ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.fc2(F.gelu(self.fc1(x))))


class Block(nn.Module):
    """Pre-norm encoder block: X <- X + MSA(LN(X)); X <- X + MLP(LN(X))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0, drop_path: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MultiHeadSelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, mlp_ratio, dropout)
        self.drop_path = DropPath(drop_path)

    def forward(self, x, mask=None):
        x = x + self.drop_path(self.attn(self.norm1(x), mask))
        return x + self.drop_path(self.mlp(self.norm2(x)))


def drop_path_rates(rate: float, depth: int) -> list:
    """Stochastic depth grows linearly with depth (DeiT/Swin recipe)."""
    return [rate * i / max(depth - 1, 1) for i in range(depth)]


def sincos_1d(positions: int, dim: int) -> torch.Tensor:
    """(positions, dim): sin in the first half of the channels, cos in the second, at geometric frequencies."""
    freqs = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
    angles = torch.arange(positions, dtype=torch.float64)[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


def sincos_2d(dim: int, rows: int, cols: int) -> torch.Tensor:
    """The 2-D sine-cosine position table (1, dim, rows, cols) of MAE (He et al. 2022): half the channels encode the
    row, half the column (sincos_1d each). Learned E_pos start from it: a random 0.02 start carries almost no
    position next to the patch features, and the decoder cannot tell where to read next."""
    if dim % 4:
        raise ValueError(f"dim {dim} must be a multiple of 4 for the 2-D sine-cosine table")
    row, col = sincos_1d(rows, dim // 2), sincos_1d(cols, dim // 2)
    table = torch.cat([row[:, None, :].expand(rows, cols, -1), col[None, :, :].expand(rows, cols, -1)], dim=2)
    return table.permute(2, 0, 1)[None].contiguous()


def resize_grid(table: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """A (1, D, R, C) position table bicubically interpolated to a rows x cols grid."""
    return F.interpolate(table, size=(rows, cols), mode="bicubic", align_corners=False)

