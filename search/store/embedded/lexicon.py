"""BM25 over the documents' tokens, in memory (what the embedded store ranks text by).

SQLite FTS5's ``bm25()`` formula (k1=1.2, b=0.75), computed with numpy over postings held
in memory, with MaxScore pruning of common tokens: FTS5 scores every matching row (~0.5 s
per query at 1M products, against a few ms here). ``tests/test_ann.py`` checks the scores
against FTS5's own ``bm25()``.
"""
from __future__ import annotations

from array import array
from collections.abc import Sequence

import numpy as np

#: BM25 parameters (FTS5's and Elasticsearch's defaults).
BM25_K1 = 1.2
BM25_B = 0.75


class VocabIds(dict):
    """token -> id, adding unseen tokens."""
    def __missing__(self, key: str) -> int:
        val = self[key] = len(self)
        return val


class Lexicon:
    """BM25 over the documents' tokens, in memory: postings (position, term frequency)
    per token built in bulk, plus the documents changed since then (``delta``), merged in
    by ``compact``. Scores are FTS5's ``bm25()`` (k1=1.2, b=0.75; idf = ln((N - n + 0.5) /
    (n + 0.5)), at least 1e-6) over all documents, so filters never change a score, only
    which documents are kept. The length-normalised term weights of the bulk postings are
    precomputed, and recomputed when the mean document length drifts by more than 0.1%."""

    AVGDL_TOLERANCE = 1e-3
    PRUNE_BUDGET = 2000          # postings scored in full before pruning is considered

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.offsets = np.zeros(1, dtype=np.int64)
        self.pos = np.zeros(0, dtype=np.int32)
        self.tf = np.zeros(0, dtype=np.uint16)      # term frequency (capped at 65535)
        self.w = np.zeros(0, dtype=np.float32)      # tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl_w))
        self.maxw = np.zeros(0, dtype=np.float32)   # by token: the largest of its weights
        self.avgdl_w = 0.0
        self.stale = np.zeros(0, dtype=bool)        # by position: postings in the bulk part are out of date
        self.any_stale = False
        self.dl = np.zeros(0, dtype=np.float64)     # by position: document length in tokens
        self.delta: dict[str, dict[int, int]] = {}  # token -> {position: tf} of changed documents
        self.delta_docs: dict[int, list[str]] = {}  # position -> its distinct tokens in ``delta``
        self.total = 0.0                            # sum of document lengths

    def grow(self, cap: int) -> None:
        for name in ("stale", "dl"):
            a = getattr(self, name)
            if a.shape[0] < cap:
                out = np.zeros(cap, dtype=a.dtype)
                out[:a.shape[0]] = a
                setattr(self, name, out)

    def build(self, positions: np.ndarray, token_strings: Sequence[str], cap: int) -> None:
        """Postings of these documents, in bulk (the previous contents are dropped)."""
        vocab = VocabIds()
        ids = array("i")
        lengths = np.zeros(len(token_strings), dtype=np.int64)
        for i, s in enumerate(token_strings):
            toks = s.split()
            lengths[i] = len(toks)
            ids.extend(map(vocab.__getitem__, toks))
        self.stale = np.zeros(cap, dtype=bool)
        self.any_stale = False
        self.dl = np.zeros(cap, dtype=np.float64)
        self.dl[positions] = lengths
        self.total = float(lengths.sum())
        self.delta, self.delta_docs = {}, {}
        self.vocab = dict(vocab)
        tok = np.frombuffer(ids, dtype=np.int32).astype(np.int64)
        owner = np.repeat(np.asarray(positions, dtype=np.int64), lengths)
        keys, tf = np.unique(tok * (cap + 1) + owner, return_counts=True)
        del tok, owner
        tok_sorted = keys // (cap + 1)
        self.pos = (keys % (cap + 1)).astype(np.int32)
        self.tf = np.minimum(tf, 65535).astype(np.uint16)
        self.offsets = np.searchsorted(tok_sorted, np.arange(len(self.vocab) + 1)).astype(np.int64)
        self.weigh(self.total / max(len(token_strings), 1))

    def refresh(self, n_docs: int) -> None:
        """Recompute the bulk weights if the mean document length drifted (writers only:
        searches read the weights without a lock)."""
        avgdl = self.total / n_docs if n_docs > 0 and self.total > 0 else 1.0
        if self.pos.size and abs(avgdl - self.avgdl_w) > self.AVGDL_TOLERANCE * self.avgdl_w:
            self.weigh(avgdl)

    def weigh(self, avgdl: float) -> None:
        avgdl = avgdl if avgdl > 0 else 1.0
        tf = self.tf.astype(np.float32)
        norm = BM25_K1 * (1.0 - BM25_B + BM25_B * self.dl[self.pos] / avgdl)
        self.w = (tf * (BM25_K1 + 1.0) / (tf + norm)).astype(np.float32)
        self.avgdl_w = avgdl
        # Largest weight per token (0 for tokens without bulk postings).
        counts = np.diff(self.offsets)
        self.maxw = np.zeros(counts.size, dtype=np.float32)
        nonempty = counts > 0
        if self.w.size:
            self.maxw[nonempty] = np.maximum.reduceat(self.w, self.offsets[:-1][nonempty])

    def forget(self, pos: int) -> None:
        """The document at ``pos`` is gone or about to change."""
        self.stale[pos] = self.any_stale = True
        self.total -= self.dl[pos]
        self.dl[pos] = 0
        for t in self.delta_docs.pop(pos, ()):
            d = self.delta.get(t)
            if d is not None:
                d.pop(pos, None)
                if not d:
                    del self.delta[t]

    def put(self, pos: int, tokens: str) -> None:
        self.forget(pos)
        toks = tokens.split()
        self.dl[pos] = len(toks)
        self.total += len(toks)
        counts: dict[str, int] = {}
        for t in toks:
            counts[t] = counts.get(t, 0) + 1
        for t, c in counts.items():
            self.delta.setdefault(t, {})[pos] = c
        self.delta_docs[pos] = list(counts)

    def _term(self, token: str, n_docs: int, avgdl: float) -> tuple[float, float, np.ndarray, np.ndarray] | None:
        """(idf, upper bound of its score, positions sorted, weights) of one query token."""
        tid = self.vocab.get(token)
        d = self.delta.get(token)
        if tid is None and not d:
            return None
        maxw = 0.0
        if tid is not None:
            a, b = self.offsets[tid], self.offsets[tid + 1]
            p, w = self.pos[a:b], self.w[a:b]
            maxw = float(self.maxw[tid]) if b > a else 0.0
            if self.any_stale:
                live = ~self.stale[p]
                p, w = p[live], w[live]
        else:
            p, w = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        if d:
            dp = np.fromiter(d.keys(), dtype=np.int32, count=len(d))
            dtf = np.fromiter(d.values(), dtype=np.float64, count=len(d))
            dw = dtf * (BM25_K1 + 1.0) / (dtf + BM25_K1 * (1.0 - BM25_B + BM25_B * self.dl[dp] / avgdl))
            p = np.concatenate([p, dp])
            w = np.concatenate([w.astype(np.float64), dw])
            order = np.argsort(p, kind="stable")
            p, w = p[order], w[order]
            maxw = max(maxw, float(dw.max()))
        if not p.size:
            return None
        idf = float(np.log((n_docs - p.size + 0.5) / (p.size + 0.5)))
        idf = idf if idf > 0 else 1e-6
        return idf, idf * maxw, p, w

    def search(self, tokens: Sequence[str], n_docs: int, allowed: np.ndarray | None, k: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, exact scores) of allowed documents matching any token: all of them,
        or (``k`` given) a subset holding the best k. With ``k``, MaxScore pruning: after
        the rare tokens are scored, a common token whose best possible contribution (with
        the others left) cannot lift an unseen document above the k-th score so far only
        adds its weight to the candidates found, instead of bringing in its postings."""
        empty = np.zeros(0, dtype=np.int64), np.zeros(0)
        if n_docs <= 0:
            return empty
        avgdl = self.total / n_docs if self.total > 0 else 1.0
        terms = [x for x in (self._term(t, n_docs, avgdl) for t in tokens) if x is not None]
        if not terms:
            return empty
        terms.sort(key=lambda x: x[2].size)                    # rare first
        if k is None:
            done, rest = terms, []
        else:
            budget = max(self.PRUNE_BUDGET, 10 * k)
            n_first = 1
            while n_first < len(terms) and sum(x[2].size for x in terms[:n_first + 1]) <= budget:
                n_first += 1
            done, rest = terms[:n_first], sorted(terms[n_first:], key=lambda x: -x[1])
        uniq, sums = self._aggregate([(x[2], x[3], x[0]) for x in done], allowed)
        while rest and k is not None:
            bound = sum(x[1] for x in rest)
            if uniq.size >= k and bound < np.partition(sums, uniq.size - k)[uniq.size - k]:
                break           # no document outside the candidates can reach the top k
            x = rest.pop(0)     # the token with the largest possible contribution
            more_p, more_s = self._aggregate([(x[2], x[3], x[0])], allowed)
            uniq, sums = self._aggregate([(uniq, sums, 1.0), (more_p, more_s, 1.0)], None)
        for idf, _, p, w in rest:                         # add the pruned tokens' weights
            if not uniq.size:
                break
            at = np.searchsorted(p, uniq)
            ok = at < p.size
            ok[ok] = p[at[ok]] == uniq[ok]
            sums[ok] += w[at[ok]].astype(np.float64) * idf
        return uniq, sums

    def _aggregate(self, parts: Sequence[tuple[np.ndarray, np.ndarray, float]], allowed: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Sum weights x factor by position over the parts; keep allowed positions."""
        if len(parts) == 1:
            p, w, f = parts[0]
            uniq, sums = p.astype(np.int64), w.astype(np.float64) * f
        else:
            p = np.concatenate([x[0] for x in parts])
            c = np.concatenate([x[1].astype(np.float64) * x[2] for x in parts])
            if p.size * 8 < self.dl.shape[0]:
                uniq, inv = np.unique(p, return_inverse=True)
                sums = np.bincount(inv, weights=c, minlength=uniq.size)
            else:       # many postings: add up by position directly (linear, no sort)
                full = np.bincount(p, weights=c, minlength=self.dl.shape[0])
                uniq = np.flatnonzero(full)
                sums = full[uniq]
            uniq = uniq.astype(np.int64)
        if allowed is not None:
            keep = allowed[uniq]
            uniq, sums = uniq[keep], sums[keep]
        return uniq, sums

    def changed(self) -> int:
        return len(self.delta_docs)

    def compact(self) -> None:
        """Merge the changed documents into the bulk postings."""
        vocab = VocabIds(self.vocab)
        counts = np.diff(self.offsets)
        tok = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
        pos, tf = self.pos.astype(np.int64), self.tf
        if self.any_stale:
            live = ~self.stale[pos]
            tok, pos, tf = tok[live], pos[live], tf[live]
        parts_t, parts_p, parts_f = [tok], [pos], [tf]
        for t, d in self.delta.items():
            parts_t.append(np.full(len(d), vocab[t], dtype=np.int64))
            parts_p.append(np.fromiter(d.keys(), dtype=np.int64, count=len(d)))
            parts_f.append(np.minimum(np.fromiter(d.values(), dtype=np.int64, count=len(d)), 65535).astype(np.uint16))
        tok, pos, tf = np.concatenate(parts_t), np.concatenate(parts_p), np.concatenate(parts_f).astype(np.uint16)
        order = np.lexsort((pos, tok))
        self.vocab = dict(vocab)
        self.pos, self.tf = pos[order].astype(np.int32), tf[order]
        self.offsets = np.searchsorted(tok[order], np.arange(len(self.vocab) + 1)).astype(np.int64)
        self.stale[:] = False
        self.any_stale = False
        self.delta, self.delta_docs = {}, {}
        self.weigh(self.avgdl_w)

    def nbytes(self) -> int:
        return int(self.offsets.nbytes + self.pos.nbytes + self.tf.nbytes + self.w.nbytes + self.stale.nbytes
                   + self.dl.nbytes)
