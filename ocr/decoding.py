"""Greedy and batched beam search over the KV-cached decoder.

Both stop an image as soon as it is finished and drop it from the batch (its cache rows go too), so a batch costs what
its longest line costs only for that line. Beam search follows the usual recipe: 2K candidates per image, [EOS]
candidates ranked within the top K become finished hypotheses, scored sum(log p) / length ** length_penalty; an image
is done once it has K of them and none of its live beams, scored at their current length, would rank among them.
"""
from dataclasses import dataclass
from typing import List

import torch
import torch.nn.functional as F

from .ctc_prefix import CTCPrefixScorer
from .tokenizer import BOS, EOS, PAD

NARROWEST_CHARACTER = 0.1  # of the line height: no script packs characters tighter, even in a tall, loose crop


def length_limits(widths, height: int, max_length: int) -> List[int]:
    """The most tokens each line may generate ([EOS] excluded): what its width can hold, at most max_length - 1.
    A model that loops ("the the the ...") stops at the end of the line instead of at the model's max_length."""
    fit = torch.ceil(widths.float() / (NARROWEST_CHARACTER * height)).long() + 2
    return fit.clamp(max=max_length - 1).tolist()


def next_logprobs(model, tokens, state, min_length: int = 0):
    """log p of the next token for every hypothesis; [PAD] and [BOS] are never generated, [EOS] not before
    `min_length` tokens."""
    logits = model.decoder.step(tokens, state).float()
    logits[:, PAD] = float("-inf")
    logits[:, BOS] = float("-inf")
    if state.position <= min_length:
        logits[:, EOS] = float("-inf")
    return F.log_softmax(logits, dim=-1)


@dataclass
class Hypothesis:
    ids: List[int]  # generated tokens, [EOS] excluded
    token_logprobs: List[float]  # log p of each generated token, [EOS] included when it was generated
    score: float  # the ranking score (length-normalised for beam search)


@torch.inference_mode()
def greedy_search(model, images, widths, max_length: int = None, min_length: int = 0) -> List[Hypothesis]:
    memory, mask = model.encode(images, widths)
    B = images.shape[0]
    limits = length_limits(widths, model.height, max_length or model.decoder.cfg.max_length)
    state = model.decoder.start(memory, mask, length=max(limits) + 1)
    ids, logprobs = [[] for _ in range(B)], [[] for _ in range(B)]
    active = torch.arange(B)  # original index of every row still decoding
    tokens = torch.full((B,), BOS, dtype=torch.long, device=images.device)
    for _ in range(max(limits)):
        logp = next_logprobs(model, tokens, state, min_length)
        best, tokens = logp.max(dim=-1)
        done = []
        for row, (i, t, lp) in enumerate(zip(active.tolist(), tokens.tolist(), best.tolist())):
            logprobs[i].append(lp)
            if t == EOS:
                done.append(row)
            else:
                ids[i].append(t)
                if len(ids[i]) >= limits[i]:  # out of length: the line ends as it is
                    done.append(row)
        if done:
            keep = torch.tensor(sorted(set(range(len(active))) - set(done)), dtype=torch.long)
            if len(keep) == 0:
                break
            active, tokens = active[keep], tokens[keep.to(tokens.device)]
            state.select_images(keep.to(tokens.device))
    return [Hypothesis(i, lp, sum(lp)) for i, lp in zip(ids, logprobs)]


class Views:
    """One batch of lines seen through one or more preprocessings (views: the same lines zoomed out or squeezed), read as
    one: each step averages the views' next-token log p, and their CTC prefix scores alike (test-time augmentation).
    Each view has its own encoder pass; their lines are then stacked into one batch of the decoder and of the CTC
    scorer (view v's copy of line i is row v * B + i), so V views cost one decoder step of V x the rows, not V
    steps. One view is plain beam search."""

    def __init__(self, model, views, beams: int, length: int, ctc: bool):
        self.model, self.count, self.images = model, len(views), views[0][0].shape[0]
        encoded = [model.encode(images, widths) for images, widths in views]
        memory, mask = _stack_padded([m for m, _ in encoded], [k for _, k in encoded])
        self.state = model.decoder.start(memory, mask, beams=beams, length=length)
        self.ctc = None
        if ctc:
            frames = [ctc_logprobs(model, m, k) for m, k in encoded]  # per view: a view's grid is its own
            logp, _ = _stack_padded([lp for lp, _ in frames])  # frames past a line's length count as blanks
            self.ctc = CTCPrefixScorer(logp, torch.cat([n for _, n in frames]), beams)

    def _mean(self, x):  # (V * N, ...) -> (N, ...): the views' average
        return x if self.count == 1 else x.view(self.count, -1, *x.shape[1:]).mean(0)

    def _each(self, x):  # (N, ...) -> (V * N, ...): the same for every view
        return x if self.count == 1 else x.repeat(self.count, *(1,) * (x.dim() - 1))

    def next_logprobs(self, tokens, min_length: int):
        return self._mean(next_logprobs(self.model, self._each(tokens), self.state, min_length))

    def ctc_extend(self, candidates):
        """Averaged prefix scores of `candidates` (N, C), [EOS] scored as the whole line; and what `ctc_advance`
        needs (all views')."""
        every = self._each(candidates)
        psi, extended = self.ctc.extend(every)
        return self._mean(torch.where(every == EOS, self.ctc.full()[:, None], psi)), extended

    def ctc_advance(self, extended, beam, choice, token):
        self.ctc.advance(extended, self._each(beam), self._each(choice), self._each(token))

    def select_images(self, index):
        every = torch.cat([index + v * self.images for v in range(self.count)])
        self.images = len(index)
        self.state.select_images(every)
        if self.ctc is not None:
            self.ctc.select_images(every)

    def reorder_beams(self, beam):
        self.state.reorder_beams(self._each(beam))


def _stack_padded(tensors, masks=None):
    """Batches (B_v, N_v, ...) of different N_v -> one (sum B_v, max N_v, ...) padded with zeros, and their validity
    masks (B_v, N_v) alike, padded with False. One batch (one view, the usual reading) is returned as it is."""
    if len(tensors) == 1:
        return tensors[0], None if masks is None else masks[0]
    longest = max(t.shape[1] for t in tensors)
    stacked = torch.cat([F.pad(t, (0, 0) * (t.dim() - 2) + (0, longest - t.shape[1])) for t in tensors])
    return stacked, None if masks is None else torch.cat([F.pad(m, (0, longest - m.shape[1])) for m in masks])


@torch.inference_mode()
def beam_search(model, images, widths, beams: int = 4, length_penalty: float = 1.0,
                max_length: int = None, min_length: int = 0, ctc_weight: float = 0.0,
                ctc_candidates: int = 12, lm=None, lm_weight: float = 0.0,
                more_views=()) -> List[Hypothesis]:
    """With `ctc_weight` > 0 (joint decoding), a hypothesis is ranked by (1 - w) log p_decoder + w log p_CTC, the
    CTC head's prefix score, over each hypothesis' `ctc_candidates` likeliest next tokens by the decoder. With an
    n-gram model `lm` (ocr.charlm) and `lm_weight` > 0, lm_weight x its log p is added to the ranking (shallow
    fusion); a token's reported log p stays the decoder's. `more_views`: (images, widths) of the same lines,
    preprocessed otherwise, read together with them (`Views`); lengths are limited by the first view's widths."""
    if not 0.0 <= ctc_weight < 1.0:
        raise ValueError(f"ctc_weight must be in [0, 1), got {ctc_weight}")
    if lm_weight and lm is None:
        raise ValueError("lm_weight > 0 needs a language model (lm)")
    K, device = beams, images.device
    B = images.shape[0]
    limits = length_limits(widths, model.height, max_length or model.decoder.cfg.max_length)
    views = Views(model, [(images, widths), *more_views], K, max(limits) + 1, ctc=ctc_weight > 0)
    finished = [[] for _ in range(B)]  # per image: Hypothesis list
    active = torch.arange(B)
    scores = torch.zeros(B, K, device=device)  # what ranks the hypotheses
    scores[:, 1:] = float("-inf")  # all beams start as the same [BOS]: let only one of them expand
    decoder_scores = scores.clone()  # the sum of the decoder's log p (the ranking too, unless joint)
    lm_scores = torch.zeros(B, K, device=device)  # the sum of the language model's log p
    history = torch.zeros(B, K, 0, dtype=torch.long, device=device)  # tokens so far
    history_lp = torch.zeros(B, K, 0, device=device)  # their log p
    tokens = torch.full((B * K,), BOS, dtype=torch.long, device=device)
    for step in range(max(limits)):
        Ba = len(active)
        logp = views.next_logprobs(tokens, min_length)  # (Ba * K, V)
        lm_lp = 0.0
        if lm_weight:  # (Ba * K, V), weighted
            lm_lp = lm.next_logprobs(history.reshape(Ba * K, history.shape[2]).tolist()).to(device) * lm_weight
        if views.ctc is None:  # every token of the vocabulary is a candidate
            lp, token_of = logp, None
            candidates = (scores.view(-1, 1) + logp + lm_lp).view(Ba, K, -1)
        else:
            lp, token_of = logp.topk(min(ctc_candidates, logp.shape[-1]), dim=1)  # (Ba * K, C)
            psi, ctc_extended = views.ctc_extend(token_of)
            candidates = (1 - ctc_weight) * (decoder_scores.view(-1, 1) + lp) + ctc_weight * psi
            if lm_weight:
                lm_lp = lm_lp.gather(1, token_of)
                candidates = candidates + lm_scores.view(-1, 1) + lm_lp
            candidates = candidates.view(Ba, K, -1)
        C = candidates.shape[-1]
        top_scores, top_index = candidates.view(Ba, K * C).topk(2 * K, dim=1)  # (Ba, 2K)
        top_beam, top_choice = top_index // C, top_index % C
        rows = torch.arange(Ba, device=device)[:, None]
        top_lp = lp.view(Ba, K, C)[rows, top_beam, top_choice]
        top_token = top_choice if token_of is None else token_of.view(Ba, K, C)[rows, top_beam, top_choice]
        is_eos = top_token == EOS
        if bool(is_eos[:, :K].any()):
            for row, rank in (is_eos[:, :K]).nonzero().tolist():
                b = int(top_beam[row, rank])
                generated = history.shape[2] + 1
                lps = history_lp[row, b].tolist() + [float(top_lp[row, rank])]
                score = float(top_scores[row, rank]) / generated ** length_penalty
                finished[int(active[row])].append(Hypothesis(history[row, b].tolist(), lps, score))
        # the K best candidates that are not [EOS] continue (there are at least K: one [EOS] per beam at most)
        order = torch.sort(is_eos.to(torch.int8), dim=1, stable=True).indices[:, :K]
        beam, token = top_beam.gather(1, order), top_token.gather(1, order)
        scores = top_scores.gather(1, order)
        decoder_scores = decoder_scores.gather(1, beam) + top_lp.gather(1, order)
        if lm_weight and views.ctc is not None:  # (attention alone: `scores` carry the language model's votes)
            top_lm = lm_lp.view(Ba, K, C)[rows, top_beam, top_choice]
            lm_scores = lm_scores.gather(1, beam) + top_lm.gather(1, order)
        if views.ctc is not None:
            views.ctc_advance(ctc_extended, beam, top_choice.gather(1, order), token)
        history = torch.cat([history.gather(1, beam[:, :, None].expand(-1, -1, history.shape[2])), token[:, :, None]], 2)
        history_lp = torch.cat([history_lp.gather(1, beam[:, :, None].expand(-1, -1, history_lp.shape[2])),
                                top_lp.gather(1, order)[:, :, None]], 2)
        tokens = token.view(-1)

        generated = history.shape[2]
        best_live = (scores[:, 0] / generated ** length_penalty).tolist()  # one device sync per step
        done = []
        for row, image in enumerate(active.tolist()):
            hyps = finished[image]
            if generated >= limits[image]:  # out of length: live beams compete as they are
                hyps += [Hypothesis(history[row, b].tolist(), history_lp[row, b].tolist(),
                                    float(scores[row, b]) / generated ** length_penalty) for b in range(K)]
                done.append(row)
                continue
            if len(hyps) >= K:  # done once K finished hypotheses all beat the best live beam at its length
                hyps.sort(key=lambda h: -h.score)
                del hyps[K:]
                if hyps[-1].score >= best_live[row]:
                    done.append(row)
        if done:
            keep = torch.tensor(sorted(set(range(Ba)) - set(done)), dtype=torch.long)
            if len(keep) == 0:
                break
            active = active[keep]
            keep = keep.to(device)
            scores, history, history_lp, beam = scores[keep], history[keep], history_lp[keep], beam[keep]
            decoder_scores, lm_scores = decoder_scores[keep], lm_scores[keep]
            tokens = tokens.view(Ba, K)[keep].view(-1)
            views.select_images(keep)
        views.reorder_beams(beam)
    return [max(hyps, key=lambda h: h.score) for hyps in finished]


def ctc_logprobs(model, memory, mask):
    """The CTC head's frames, log-softmaxed in full precision (B, T, V), and each line's frame count (B,)."""
    if model.ctc_head is None:
        raise ValueError("CTC or joint decoding needs a CTC head; this model was trained without --ctc-weight")
    logits, frames = model.ctc_columns(memory, mask)
    return logits.float().log_softmax(-1), frames


@torch.inference_mode()
def ctc_search(model, images, widths) -> List[Hypothesis]:
    """Best path of the CTC head: each column's most likely token, repeats merged, blanks ([PAD]) dropped. One
    encoder pass and no loop over tokens; a character's log p is the best of the columns that wrote it."""
    logp, columns = ctc_logprobs(model, *model.encode(images, widths))
    logp, best = logp.max(-1)  # (B, C)
    hyps = []
    for row_lp, row_ids, n in zip(logp.tolist(), best.tolist(), columns.tolist()):
        ids, lps, previous = [], [], PAD
        for lp, t in zip(row_lp[:n], row_ids[:n]):
            if t != PAD and t != previous:
                ids.append(t)
                lps.append(lp)
            elif t != PAD:
                lps[-1] = max(lps[-1], lp)
            previous = t
        hyps.append(Hypothesis(ids, lps, sum(lps)))
    return hyps

