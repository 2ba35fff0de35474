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


IMPOSSIBLE = -1e5  # a frame's log p that no path survives: stands for -inf where the scan needs finite numbers


def _scan(first, added, x):
    """y(t) = log((exp y(t-1) + exp added(t)) * exp x(t)) for t = 0.. with y(-1) = first: y(t) = X(t) +
    log(exp first + sum over s <= t of exp(added(s) - X(s-1))), X the running sum of x. Float64, so that X and the
    sum (large numbers of opposite sign) cancel exactly enough; what falls to IMPOSSIBLE is impossible (-inf)."""
    x = x.double().clamp(min=IMPOSSIBLE).cumsum(0)
    shifted = torch.cat([torch.zeros_like(x[:1]), x[:-1]])
    y = x + torch.logaddexp(first.double(), torch.logcumsumexp(added.double() - shifted, 0))
    return y.masked_fill(y < IMPOSSIBLE / 2, float("-inf")).to(first.dtype)


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
        """Prefix scores psi(g + c) of each hypothesis g and candidate token c: candidates (N, C) -> (N, C), and what
        `advance` needs to carry on the extensions beam search keeps. psi sums over the frame where c is first read,
        so it needs no per-frame state; that (the scan below) is computed in `advance` for the kept K per image only,
        not for all C candidates of every hypothesis."""
        (T, B, _), (N, C) = self.x.shape, candidates.shape
        xs = self.x.gather(2, candidates.view(1, B, -1).expand(T, B, -1)).view(T, N, C)  # an image's frames
        total = torch.logaddexp(self.r[:, :, 0], self.r[:, :, 1])
        # a repeated label needs a blank between its two copies
        phi = torch.where(candidates[None] == self.last[None, :, None], self.r[:, :, 1, None], total[:, :, None])
        # r_n(t) of g + c at the first frame it can end on (start - 1): -inf unless g is empty
        before = xs[0] if self.length == 0 else torch.full_like(xs[0], float("-inf"))
        start = max(self.length, 1)  # a prefix of L labels cannot end before frame L - 1
        if start >= T:  # more labels than frames
            return before.clone(), (xs, phi)
        return torch.logaddexp(before, torch.logsumexp(phi[start - 1:-1] + xs[start:], 0)), (xs, phi)

    def advance(self, extended, beam, choice, tokens):
        """New beam j of image b continues old beam beam[b, j] with its candidate choice[b, j], token tokens[b, j]
        (all (B, K)); `extended`: what `extend` returned with the scores."""
        B, K = beam.shape
        T = self.x.shape[0]
        rows = (torch.arange(B, device=beam.device)[:, None] * K + beam).view(-1)
        xs, phi = (t[:, rows, choice.reshape(-1)] for t in extended)  # (T, B * K)
        xb = self.x[:, :, BLANK].repeat_interleave(K, dim=1)  # (T, B * K): row n is image n // K
        r = torch.full((T, B * K, 2), float("-inf"), device=xs.device)
        if self.length == 0:
            r[0, :, 0] = xs[0]
        start = max(self.length, 1)
        if start < T:
            # r_n(t) = (r_n(t-1) + phi(t-1)) x(t) and r_b(t) = (r_n(t-1) + r_b(t-1)) x_blank(t), in probabilities,
            # are running sums once divided by the running product of x: all frames at once, not a loop over them
            before = r[start - 1, :, 0]
            r_n = _scan(before, phi[start - 1:-1], xs[start:])
            r[start:, :, 0] = r_n
            r[start:, :, 1] = _scan(r[start - 1, :, 1], torch.cat([before[None], r_n[:-1]]), xb[start:])
        self.r, self.last = r, tokens.reshape(-1)
        self.length += 1

    def select_images(self, index):
        """Keep images `index` (the others finished)."""
        rows = (index[:, None] * self.beams + torch.arange(self.beams, device=index.device)).view(-1)
        self.x, self.r, self.last = self.x[:, index], self.r[:, rows], self.last[rows]
