"""CTC prefix scores, for beam search that listens to the decoder and the CTC head at once (joint decoding).

The decoder alone may drop or repeat words and still be confident; the CTC head has to account for every frame of
the line. The prefix score psi(g) is the CTC probability of all frame paths whose labelling starts with g
(Watanabe et al., "Hybrid CTC/attention architecture for end-to-end speech recognition", 2017), computed
incrementally: each hypothesis keeps, for every frame t, the log probability that the frames up to t read exactly g,
ending in a non-blank (r_n) or in a blank (r_b).
"""
import torch

from .tokenizer import PAD

BLANK = PAD  # the CTC head's blank (training's F.ctc_loss(blank=PAD))


class CTCPrefixScorer:
    """Prefix scores of the hypotheses of a batched beam search: row n is beam n % K of image n // K.

    `logp` (B, T, V): the CTC head's log-softmaxed frames; `lengths` (B,): each line's real frames. Frames past a
    line's end are read as certain blanks, which leaves every score of that line exactly as it was.
    """

    def __init__(self, logp, lengths, beams: int):
        B, T, V = logp.shape
        beyond = torch.arange(T, device=logp.device)[None, :] >= lengths[:, None]  # (B, T)
        certain_blank = torch.full((V,), float("-inf"), device=logp.device)
        certain_blank[BLANK] = 0.0
        self.x = torch.where(beyond[:, :, None], certain_blank, logp.float()).transpose(0, 1).contiguous()  # (T, B, V)
        self.r = torch.full((T, B * beams, 2), float("-inf"), device=logp.device)  # the empty prefix: blanks only
        self.r[:, :, 1] = self.x[:, :, BLANK].cumsum(0).repeat_interleave(beams, dim=1)
        self.last = torch.full((B * beams,), -1, dtype=torch.long, device=logp.device)  # last label; -1: none
        self.length = 0  # labels in every hypothesis (beam search extends them all in step)
        self.beams = beams

    def full(self):
        """log p of each hypothesis as a whole line (its prefix followed by [EOS]): (N,)."""
        return torch.logaddexp(self.r[-1, :, 0], self.r[-1, :, 1])

    def extend(self, candidates):
        """Prefix scores psi(g + c) of each hypothesis g and candidate token c: candidates (N, C) -> (N, C), and the
        per-frame state of each extension (T, N, C, 2), for `advance`."""
        (T, B, _), (N, C) = self.x.shape, candidates.shape
        xs = self.x.gather(2, candidates.view(1, B, -1).expand(T, B, -1)).view(T, N, C)  # an image's frames
        xb = self.x[:, :, BLANK, None].repeat_interleave(self.beams, dim=1)  # (T, N, 1)
        total = torch.logaddexp(self.r[:, :, 0], self.r[:, :, 1])
        # a repeated label needs a blank between its two copies
        phi = torch.where(candidates[None] == self.last[None, :, None], self.r[:, :, 1, None], total[:, :, None])
        r = torch.full((T, N, C, 2), float("-inf"), device=xs.device)
        if self.length == 0:
            r[0, :, :, 0] = xs[0]
        start = max(self.length, 1)  # a prefix of L labels cannot end before frame L - 1
        psi = r[min(start, T) - 1, :, :, 0].clone()  # -inf when there are more labels than frames
        for t in range(start, T):
            r[t, :, :, 0] = torch.logaddexp(r[t - 1, :, :, 0], phi[t - 1]) + xs[t]
            r[t, :, :, 1] = torch.logaddexp(r[t - 1, :, :, 0], r[t - 1, :, :, 1]) + xb[t]
            psi = torch.logaddexp(psi, phi[t - 1] + xs[t])
        return psi, r

    def advance(self, r, beam, choice, tokens):
        """New beam j of image b continues old beam beam[b, j] with its candidate choice[b, j], token tokens[b, j]
        (all (B, K))."""
        B, K = beam.shape
        rows = (torch.arange(B, device=beam.device)[:, None] * K + beam).view(-1)
        self.r = r[:, rows, choice.reshape(-1)]
        self.last = tokens.reshape(-1)
        self.length += 1

    def select_images(self, index):
        """Keep images `index` (the others finished)."""
        rows = (index[:, None] * self.beams + torch.arange(self.beams, device=index.device)).view(-1)
        self.x, self.r, self.last = self.x[:, index], self.r[:, rows], self.last[rows]
