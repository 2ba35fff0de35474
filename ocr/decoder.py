"""Autoregressive Transformer text decoder (the TrOCR side), with a KV cache for step-by-step decoding.

Pre-norm layers: causal self-attention, cross-attention to the encoder features, MLP. Training runs all positions at
once (`forward`); decoding runs one token per step (`step`), reusing past self-attention keys/values and the
cross-attention keys/values computed once per image by `start`.
"""
from dataclasses import dataclass
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from backbones.layers import MLP, sincos_1d


@dataclass
class DecoderConfig:
    vocab_size: int
    dim: int = 256
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    max_length: int = 160  # tokens per line, [BOS] and [EOS] included; also the decoding limit
    dropout: float = 0.1  # on residual branches and the MLP; none on attention weights (TrOCR's default)


def split_heads(x, heads):  # (B, T, D) -> (B, h, T, d)
    B, T, D = x.shape
    return x.view(B, T, heads, D // heads).transpose(1, 2)


def merge_heads(x):  # (B, h, T, d) -> (B, T, D)
    B, h, T, d = x.shape
    return x.transpose(1, 2).reshape(B, T, h * d)


@dataclass
class DecoderState:
    """What decoding carries from step to step, per layer."""
    cross_kv: List[tuple]  # (k, v), each (B, h, N, d): one entry per image, shared by its beams
    memory_mask: Optional[torch.Tensor]  # (B, 1, 1, N) or None when no image is padded
    self_kv: List[Optional[tuple]]  # (k, v), each (B * K, h, t, d): one entry per hypothesis
    beams: int = 1
    position: int = 0

    def select_hypotheses(self, index: torch.Tensor):
        """Keep hypotheses `index` (reordered beams), in the self-attention cache."""
        self.self_kv = [(k.index_select(0, index), v.index_select(0, index)) for k, v in self.self_kv]

    def select_images(self, index: torch.Tensor):
        """Keep images `index` (the others finished), in the cross-attention keys/values."""
        self.cross_kv = [(k.index_select(0, index), v.index_select(0, index)) for k, v in self.cross_kv]
        if self.memory_mask is not None:
            self.memory_mask = self.memory_mask.index_select(0, index)


class DecoderLayer(nn.Module):
    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        D = cfg.dim
        self.heads = cfg.heads
        self.norm1, self.qkv, self.self_proj = nn.LayerNorm(D), nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.norm2, self.q, self.kv, self.cross_proj = nn.LayerNorm(D), nn.Linear(D, D), nn.Linear(D, 2 * D), nn.Linear(D, D)
        self.norm3, self.mlp = nn.LayerNorm(D), MLP(D, cfg.mlp_ratio, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def cross_keys_values(self, memory):  # (B, N, D) -> k, v (B, h, N, d)
        k, v = self.kv(memory).chunk(2, dim=-1)
        return split_heads(k, self.heads), split_heads(v, self.heads)

    def forward(self, x, cross_kv, memory_mask, past=None, beams=1):
        """x (B * K, T, D). Without `past`: causal attention over x. With it: x is the next token, appended to it."""
        q, k, v = (split_heads(t, self.heads) for t in self.qkv(self.norm1(x)).chunk(3, dim=-1))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=past is None and x.shape[1] > 1)
        x = x + self.drop(self.self_proj(merge_heads(y)))

        q = split_heads(self.q(self.norm2(x)), self.heads)  # (B * K, h, T, d)
        if beams > 1:  # the K beams of an image become K query rows against its keys: memory is never copied
            BK, h, T, d = q.shape
            q = q.view(BK // beams, beams, h, T, d).transpose(1, 2).reshape(BK // beams, h, beams * T, d)
        y = F.scaled_dot_product_attention(q, *cross_kv, attn_mask=memory_mask)
        if beams > 1:
            y = y.view(BK // beams, h, beams, T, d).transpose(1, 2).reshape(BK, h, T, d)
        x = x + self.drop(self.cross_proj(merge_heads(y)))
        x = x + self.mlp(self.norm3(x))
        return x, (k, v)


class TextDecoder(nn.Module):
    def __init__(self, cfg: DecoderConfig):
        super().__init__()
        self.cfg = cfg
        self.token_embed = nn.Embedding(cfg.vocab_size, cfg.dim)
        # learned, from the sine-cosine table: as strong as the token embeddings (std 1), so every step knows where
        # it is in the line from the first update (a 0.02 start leaves the decoder guessing, and it loops)
        self.pos_embed = nn.Parameter(sincos_1d(cfg.max_length, cfg.dim)[None])
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.vocab_size)
        self.drop = nn.Dropout(cfg.dropout)

    @staticmethod
    def sdpa_mask(memory_mask):  # (B, N) validity -> (B, 1, 1, N), or None when nothing is padded
        return None if memory_mask is None or bool(memory_mask.all()) else memory_mask[:, None, None, :]

    def forward(self, tokens, memory, memory_mask=None):
        """Teacher forcing: tokens (B, T) starting with [BOS], memory (B, N, D) -> logits (B, T, V)."""
        T = tokens.shape[1]
        if T > self.cfg.max_length:
            raise ValueError(f"{T} tokens exceed the decoder's max_length {self.cfg.max_length}")
        x = self.drop(self.token_embed(tokens) + self.pos_embed[:, :T])
        mask = self.sdpa_mask(memory_mask)
        for layer in self.layers:
            x, _ = layer(x, layer.cross_keys_values(memory), mask)
        return self.head(self.norm(x))

    def start(self, memory, memory_mask=None, beams=1) -> DecoderState:
        """Cross-attention keys/values of every layer, computed once per image."""
        return DecoderState([layer.cross_keys_values(memory) for layer in self.layers], self.sdpa_mask(memory_mask),
                            [None] * len(self.layers), beams)

    def step(self, tokens, state: DecoderState):
        """The last token of every hypothesis (B * K,) -> next-token logits (B * K, V); updates the cache."""
        x = self.token_embed(tokens)[:, None] + self.pos_embed[:, state.position:state.position + 1]
        for i, layer in enumerate(self.layers):
            x, state.self_kv[i] = layer(x, state.cross_kv[i], state.memory_mask, state.self_kv[i], state.beams)
        state.position += 1
        return self.head(self.norm(x[:, 0]))


def cross_attention_weights(decoder: TextDecoder, tokens, memory, memory_mask=None, layer: int = -1):
    """softmax(Q K^T / sqrt(d)) of one layer's cross-attention, averaged over heads: (B, T, N).

    Teacher-forced over `tokens` ([BOS] + text), for showing where each character looked; decoding itself never
    materialises these weights.
    """
    T = tokens.shape[1]
    x = decoder.token_embed(tokens) + decoder.pos_embed[:, :T]
    mask = decoder.sdpa_mask(memory_mask)
    target = range(len(decoder.layers))[layer]
    for i, l in enumerate(decoder.layers):
        if i == target:
            h = l.norm1(x)
            q, k, v = (split_heads(t, l.heads) for t in l.qkv(h).chunk(3, dim=-1))
            y = x + l.self_proj(merge_heads(F.scaled_dot_product_attention(q, k, v, is_causal=T > 1)))
            q = split_heads(l.q(l.norm2(y)), l.heads)
            k, _ = l.cross_keys_values(memory)
            scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5  # (B, h, T, N)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            return scores.softmax(-1).mean(1)
        x, _ = l(x, l.cross_keys_values(memory), mask)
    raise IndexError(layer)
