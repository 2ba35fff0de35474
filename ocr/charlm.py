"""A token n-gram language model that beam search listens to (shallow fusion): lm.json in a model folder.

A recogniser trained on a few thousand lines of one hand learns its letters better than its words; an n-gram model of
the text it is asked to read (the writer's other transcriptions, a period corpus) votes for the words that text uses.
Interpolated Kneser-Ney (Chen & Goodman, "An empirical study of smoothing techniques for language modeling", 1998):
the highest order counts n-grams, lower orders count the distinct tokens seen before them, one discount per order.
Over the model's own token ids (characters, for the default tokenizer); a line starts with [BOS]s and ends with [EOS],
so the model also knows how lines begin and end. Stored as JSON counts, never pickled.

The text a model will read is usually scarce (a few thousand lines of one writer) and misses many of the words the
next documents use; `MixedLM` reads several n-gram models as one, p = sum_i share_i p_i: the documents' own text with
most of the share, a general model of the language with the rest.
"""
import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple, Union

import torch

from .atomic import write_atomic
from .errors import VitocrError
from .tokenizer import BOS, EOS, PAD

FILE = "lm.json"
FORMAT = "vitocr token n-gram"
CACHE_LIMIT = 200_000  # cached next-token distributions (V floats each) before the cache starts over

Context = Tuple[int, ...]


class NgramLM:
    """`counts[k]`: {context of k tokens: {next token: count}}, k = 0 .. order - 1; the highest order's are counts of
    n-grams, the lower orders' the number of distinct tokens seen before them. `tokens`: the tokenizer's vocabulary
    by id, so that a model folder's lm.json is checked against its tokenizer.json."""

    def __init__(self, order: int, tokens: List[str], counts: List[Dict[Context, Dict[int, int]]]):
        self.order, self.tokens, self.counts = order, tokens, counts
        self.discounts = [discount(level) for level in counts]
        self._cache: Dict[Context, torch.Tensor] = {}
        self._fitted: Dict[Context, tuple] = {}

    @classmethod
    def build(cls, lines: Iterable[Sequence[int]], tokens: List[str], order: int = 6) -> "NgramLM":
        """Count the n-grams of `lines` (token ids, without [BOS]/[EOS])."""
        if order < 1:
            raise ValueError(f"the order of an n-gram model is at least 1, got {order}")
        top: Dict[Context, Counter] = defaultdict(Counter)
        for ids in lines:
            padded = [BOS] * (order - 1) + list(ids) + [EOS]
            for i in range(order - 1, len(padded)):
                top[tuple(padded[i - order + 1:i])][padded[i]] += 1
        counts = [dict() for _ in range(order)]
        counts[-1] = {h: dict(c) for h, c in top.items()}
        for k in range(order - 2, -1, -1):  # continuation counts: distinct tokens x before (h, w)
            level: Dict[Context, Counter] = defaultdict(Counter)
            for h, following in counts[k + 1].items():
                for w in following:
                    level[h[1:]][w] += 1
            counts[k] = {h: dict(c) for h, c in level.items()}
        return cls(order, list(tokens), counts)

    def save(self, path) -> Path:
        return _write(path, {"version": 1, "order": self.order, "tokens": self.tokens, "counts": self._counts_json()})

    def _counts_json(self):
        return [{" ".join(map(str, h)): [x for w, c in sorted(f.items()) for x in (w, c)] for h, f in level.items()}
                for level in self.counts]

    @classmethod
    def _from_json(cls, order, tokens, levels) -> "NgramLM":
        order = int(order)
        counts = [{tuple(map(int, h.split())): dict(zip(map(int, f[::2]), map(int, f[1::2]))) for h, f in
                   level.items()} for level in levels]
        if len(counts) != order or any(len(h) != k for k, level in enumerate(counts) for h in level):
            raise ValueError("its counts do not match its order")
        return cls(order, list(tokens), counts)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def next_logprobs(self, histories: Sequence[Sequence[int]]) -> torch.Tensor:
        """log p of every next token after each history (token ids generated so far, [BOS] excluded): (N, V)."""
        return _cached_rows(self._cache, self.order, histories, lambda context: self._probabilities(context).log())

    def _probabilities(self, context: Context) -> torch.Tensor:
        """p(w | context) for every token w, interpolated down to a uniform distribution over the tokens a line
        can hold ([PAD] and [BOS] never follow)."""
        if not context:
            p = torch.full((self.vocab_size,), 1.0 / (self.vocab_size - 2))
            p[PAD] = p[BOS] = 0.0
            lower = p
        else:
            lower = self._probabilities(context[1:])
        fitted = self._fit(context)
        if fitted is None:
            return lower
        tokens, mass, backoff = fitted
        return (backoff * lower).index_add_(0, tokens, mass)

    def _fit(self, context: Context):
        """(tokens seen after `context`, their discounted probability, the mass left to the lower order), or None
        for a context never seen."""
        if context not in self._fitted:
            following = self.counts[len(context)].get(context)
            if following is None:
                self._fitted[context] = None
            else:
                d, total = self.discounts[len(context)], sum(following.values())
                tokens = torch.tensor(list(following), dtype=torch.long)
                mass = (torch.tensor(list(following.values()), dtype=torch.float) - d).clamp(min=0) / total
                self._fitted[context] = (tokens, mass, d * len(following) / total)
        return self._fitted[context]

    def score(self, ids: Sequence[int]) -> float:
        return _score(self, ids)


def discount(level: Dict[Context, Dict[int, int]]) -> float:
    """Kneser-Ney's D = n1 / (n1 + 2 n2), n1 and n2 the n-grams counted once and twice; 0.5 when undefined."""
    tally = Counter(c for following in level.values() for c in following.values() if c <= 2)
    n1, n2 = tally[1], tally[2]
    return n1 / (n1 + 2 * n2) if n1 and n2 else 0.5


class MixedLM:
    """n-gram models of one tokenizer read as one: p(w | h) = sum_i share_i p_i(w | h), the shares summing to 1."""

    def __init__(self, parts: List[Tuple[float, NgramLM]]):
        shares = [share for share, _ in parts]
        if len(parts) < 2 or min(shares) <= 0 or abs(sum(shares) - 1) > 1e-6:
            raise ValueError(f"a mixture needs two or more positive shares summing to 1, got {shares}")
        if any(lm.tokens != parts[0][1].tokens for _, lm in parts):
            raise ValueError("the models of a mixture must share one tokenizer")
        self.parts, self.tokens = list(parts), parts[0][1].tokens
        self.order = max(lm.order for _, lm in parts)
        self._cache: Dict[Context, torch.Tensor] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def next_logprobs(self, histories: Sequence[Sequence[int]]) -> torch.Tensor:
        """log p of every next token after each history, as `NgramLM.next_logprobs`."""
        def mixed(context):  # each part's own context: its last order - 1 tokens (the parts keep no cache of theirs)
            rows = [lm._probabilities(context[len(context) - lm.order + 1:]).log() + math.log(share)
                    for share, lm in self.parts]
            return torch.logsumexp(torch.stack(rows), 0)
        return _cached_rows(self._cache, self.order, histories, mixed)

    def score(self, ids: Sequence[int]) -> float:
        return _score(self, ids)

    def save(self, path) -> Path:
        return _write(path, {"version": 2, "tokens": self.tokens, "parts": [
            {"share": share, "order": lm.order, "counts": lm._counts_json()} for share, lm in self.parts]})


LanguageModel = Union[NgramLM, MixedLM]


def load_lm(path, tokens: List[str] = None) -> LanguageModel:
    """Read lm.json (one n-gram model, or a mixture of several); with `tokens` (the model's vocabulary by id), check
    that it was built for them."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        if "parts" in data:
            lm = MixedLM([(float(part["share"]), NgramLM._from_json(part["order"], data["tokens"], part["counts"]))
                          for part in data["parts"]])
        else:
            lm = NgramLM._from_json(data["order"], data["tokens"], data["counts"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise VitocrError(f"{path} is not a readable language model ({e}); rebuild it with `vitocr lm`.") from e
    if tokens is not None and lm.tokens != list(tokens):
        raise VitocrError(f"{path} was built for another tokenizer than the model's; rebuild it with `vitocr lm` "
                          "for this model.")
    return lm


def _write(path, data: dict) -> Path:
    return write_atomic(path, json.dumps({"format": FORMAT, **data}, ensure_ascii=False, separators=(",", ":")))


def _cached_rows(cache: Dict[Context, torch.Tensor], order: int, histories, compute) -> torch.Tensor:
    """Rows of `compute(context)` for each history's last order - 1 tokens ([BOS]-padded), cached by context."""
    n = order - 1
    rows = []
    for ids in histories:
        ids = list(ids[len(ids) - n:]) if n else []
        context = (BOS,) * (n - len(ids)) + tuple(ids)
        logp = cache.get(context)
        if logp is None:
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            logp = cache[context] = compute(context)
        rows.append(logp)
    return torch.stack(rows)


def _score(lm, ids: Sequence[int]) -> float:
    """log p of a whole line (token ids without [BOS]/[EOS]), its [EOS] included."""
    ids = list(ids)
    return sum(float(lm.next_logprobs([ids[:i]])[0, t]) for i, t in enumerate(ids + [EOS]))
