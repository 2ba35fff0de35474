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


def image_heads(x, heads: int, parts: int = 1, beams: int = 1):
    """(B * K, T, parts * D) -> `parts` views (B, h, K * T, d): each image's K beams (K > 1 only when T == 1) become
    query rows of one attention, so they share its keys. Views, not copies: decoding a step copies nothing here."""
    BK, T, PD = x.shape
    d = PD // parts // heads
    return x.view(BK // beams, beams * T, parts, heads, d).permute(2, 0, 3, 1, 4).unbind(0)


def hypothesis_rows(y, beams: int = 1):  # (B, h, K * T, d) -> (B * K, T, D)
    B, h, KT, d = y.shape
    return y.transpose(1, 2).reshape(B * beams, KT // beams, h * d)


@dataclass
class DecoderState:
    """What decoding carries from step to step, per layer.

    Self-attention keys/values are written once, where they were computed, and never copied when beams are
    reordered: step s of beam j lives in column s * K + j of its image's buffer, and each hypothesis attends to
    the columns of its ancestors only (a mask built from `ancestry`).
    """
    cross_kv: List[tuple]  # (k, v), each (B, h, N, d): one entry per image, shared by its beams
    memory_mask: Optional[torch.Tensor]  # (B, 1, 1, N) or None when no image is padded
    self_kv: List[tuple]  # (k, v), each (B, h, capacity * K, d)
    ancestry: torch.Tensor  # (B, K, position): the beam each hypothesis descends from at every past step
    beams: int = 1
    position: int = 0

    def self_mask(self) -> Optional[torch.Tensor]:
        """(B, 1, K, (position + 1) * K), additive (0 or -inf, built once for every layer): the cached columns each
        hypothesis may attend to. None while all beams are one (greedy search, and beam search's first step)."""
        if self.beams == 1 or self.position == 0:
            return None
        B, K, t = self.ancestry.shape
        own = torch.arange(K, device=self.ancestry.device)[:, None].expand(B, K, 1)
        path = torch.cat([self.ancestry, own], dim=2)  # (B, K, t + 1)
        allowed = F.one_hot(path, K).bool().view(B, 1, K, (t + 1) * K)
        dtype = self.self_kv[0][0].dtype
        return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill_(~allowed, float("-inf"))

    def reorder_beams(self, beam: torch.Tensor):
        """beam (B, K): new beam j continues old beam beam[b, j]."""
        if self.beams > 1:
            self.ancestry = torch.cat([self.ancestry.gather(1, beam[:, :, None].expand_as(self.ancestry)),
                                       beam[:, :, None]], dim=2)

    def select_images(self, index: torch.Tensor):
        """Keep images `index` (the others finished), with their beams and caches."""
        self.cross_kv = [(k.index_select(0, index), v.index_select(0, index)) for k, v in self.cross_kv]
        written = self.position * self.beams  # the columns after these are yet to be written: not worth a copy
        self.self_kv = [tuple(_kept_rows(t, index, written) for t in kv) for kv in self.self_kv]
        self.ancestry = self.ancestry.index_select(0, index)
        if self.memory_mask is not None:
            self.memory_mask = self.memory_mask.index_select(0, index)


def _kept_rows(cache, index, columns: int):
    """Rows `index` of a (B, h, capacity, d) cache, a buffer of the same capacity, its first `columns` copied."""
    kept = cache.new_empty((len(index), *cache.shape[1:]))
    kept[:, :, :columns] = cache[:, :, :columns].index_select(0, index)
    return kept


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
        return image_heads(self.kv(memory), self.heads, parts=2)

    def forward(self, x, cross_kv, memory_mask, beams=1, cache=None, self_mask=None):
        """x (B * K, T, D). Without `cache`: causal attention over x (training). With `cache` (k, v, start, end): x is
        each hypothesis' next token; its keys/values fill columns start .. end - 1 (one row per image fills all K of
        them at the first step, when the beams are still one) and it attends to `self_mask`."""
        q, k, v = image_heads(self.qkv(self.norm1(x)), self.heads, parts=3, beams=beams)  # (B, h, K * T, d)
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=x.shape[1] > 1)
        else:
            k_cache, v_cache, start, end = cache
            k_cache[:, :, start:end] = k
            v_cache[:, :, start:end] = v
            y = F.scaled_dot_product_attention(q, k_cache[:, :, :end], v_cache[:, :, :end], attn_mask=self_mask)
        x = x + self.drop(self.self_proj(hypothesis_rows(y, beams)))

        q, = image_heads(self.q(self.norm2(x)), self.heads, beams=beams)
        # the K beams of an image are K query rows against its keys: memory is never copied
        y = F.scaled_dot_product_attention(q, *cross_kv, attn_mask=memory_mask)
        x = x + self.drop(self.cross_proj(hypothesis_rows(y, beams)))
        return x + self.mlp(self.norm3(x))


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
            x = layer(x, layer.cross_keys_values(memory), mask)
        return self.head(self.norm(x))

    def start(self, memory, memory_mask=None, beams=1, length: int = None) -> DecoderState:
        """Cross-attention keys/values of every layer, computed once per image, and an empty self-attention cache
        for `length` steps (default: max_length)."""
        B, h, D = memory.shape[0], self.cfg.heads, self.cfg.dim
        # contiguous once: every step reads them, and the fused CPU kernel is slower on strided keys
        cross_kv = [tuple(t.contiguous() for t in layer.cross_keys_values(memory)) for layer in self.layers]
        shape, dtype = (B, h, (length or self.cfg.max_length) * beams, D // h), cross_kv[0][0].dtype  # autocast's
        return DecoderState(cross_kv, self.sdpa_mask(memory_mask),
                            [(memory.new_empty(shape, dtype=dtype), memory.new_empty(shape, dtype=dtype))
                             for _ in self.layers],
                            torch.zeros(B, beams, 0, dtype=torch.long, device=memory.device), beams)

    def step(self, tokens, state: DecoderState):
        """The last token of every hypothesis (B * K,) -> next-token logits (B * K, V); updates the cache."""
        capacity = state.self_kv[0][0].shape[2] // state.beams
        if state.position >= capacity:
            raise ValueError(f"decoding past the {capacity} steps the cache was started for")
        K, start = state.beams, state.position * state.beams
        rows = 1 if state.position == 0 else K  # the first step's K beams are all [BOS]: run one per image
        if rows < K and not bool((tokens.view(-1, K) == tokens.view(-1, K)[:, :1]).all()):
            raise ValueError("the beams of an image must start from the same token")
        x = self.token_embed(tokens[::K // rows])[:, None] + self.pos_embed[:, state.position:state.position + 1]
        mask = state.self_mask()
        for layer, cross_kv, (k, v) in zip(self.layers, state.cross_kv, state.self_kv):
            x = layer(x, cross_kv, state.memory_mask, rows, (k, v, start, start + K), mask)
        state.position += 1
        logits = self.head(self.norm(x[:, 0]))
        return logits if rows == K else logits.repeat_interleave(K, dim=0)


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
            q, k, v = image_heads(l.qkv(h), l.heads, parts=3)
            y = x + l.self_proj(hypothesis_rows(F.scaled_dot_product_attention(q, k, v, is_causal=T > 1)))
            q, = image_heads(l.q(l.norm2(y)), l.heads)
            k, _ = l.cross_keys_values(memory)
            scores = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5  # (B, h, T, N)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            return scores.softmax(-1).mean(1)
        x = l(x, l.cross_keys_values(memory), mask)
    raise IndexError(layer)
