"""The filter columns of the in-memory view, and the filter masks computed from them.

One array per ``schema.FIELDS`` row, by view position: a keyword field as int32 codes of
its stored texts (-1: none), a numeric field as float64 (NaN: none). A multi-valued field's
code stands for its whole stored text; ``codes_of`` lists, per value, the codes of the
texts holding it, so an any-of filter is a lookup table over codes. Filters are evaluated
here, in memory, as ``schema.FIELDS`` says (no table scans).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from search.store import schema
from search.store.base import Filters
from search.store.embedded.sqlite import decode_values

KEYWORD = tuple(f for f in schema.FIELDS if f.type == "keyword")
NUMERIC = tuple(f for f in schema.FIELDS if f.type != "keyword")


class Columns:
    def __init__(self) -> None:
        self.str_cols = {f.name: np.zeros(0, dtype=np.int32) for f in KEYWORD}
        self.num_cols = {f.name: np.zeros(0, dtype=np.float64) for f in NUMERIC}
        self.vocab: dict[str, dict[str, int]] = {f.name: {} for f in KEYWORD}       # stored text -> code
        # Multi-valued columns: value -> codes (in ``vocab``) of the stored texts holding it.
        self.codes_of: dict[str, dict[str, list[int]]] = {f.name: {} for f in KEYWORD if f.multi}

    def grow(self, grow: Callable[[np.ndarray, Any], np.ndarray]) -> None:
        for name, a in self.str_cols.items():
            self.str_cols[name] = grow(a, -1)
        for name, a in self.num_cols.items():
            self.num_cols[name] = grow(a, np.nan)

    def set(self, pos: int, values: Sequence[Any]) -> None:
        """The values of one row, in ``schema.FIELDS`` order (as ``sqlite.FILTER_SELECT`` reads them)."""
        for f, val in zip(schema.FIELDS, values):
            if f.type != "keyword":
                self.num_cols[f.name][pos] = np.nan if val is None else float(val)
            elif val is None:
                self.str_cols[f.name][pos] = -1
            else:
                code = self.vocab[f.name].get(val)
                self.str_cols[f.name][pos] = self._add_code(f.name, val) if code is None else code

    def _add_code(self, col: str, text: str) -> int:
        vocab = self.vocab[col]
        code = vocab[text] = len(vocab)
        if col in self.codes_of:
            for value in decode_values(text):
                self.codes_of[col].setdefault(value, []).append(code)
        return code

    def clear(self, pos: int) -> None:
        for a in self.str_cols.values():
            a[pos] = -1

    def mask(self, f: Filters, m: np.ndarray) -> np.ndarray:
        """``m`` (bool by position, of the positions in use) and-ed with the filters."""
        n = m.shape[0]
        for field in KEYWORD:
            val = getattr(f, field.name)
            col = self.str_cols[field.name][:n]
            if field.multi:
                if val:                 # any of these values
                    hit = np.zeros(len(self.vocab[field.name]) + 1, dtype=bool)   # by code; the last is -1 (none)
                    hit[[code for v in val for code in self.codes_of[field.name].get(v, ())]] = True
                    m &= hit[col]
            elif val is not None:
                code = self.vocab[field.name].get(val)
                if code is None:
                    m[:] = False
                    return m
                m &= col == code
        with np.errstate(invalid="ignore"):
            for field in NUMERIC:
                arr = self.num_cols[field.name][:n]
                if field.at_least and (low := getattr(f, field.at_least)) is not None:
                    m &= arr >= float(low)
                if field.at_most and (high := getattr(f, field.at_most)) is not None:
                    m &= arr <= float(high)
        return m

    # persistence -------------------------------------------------------------------------
    def save(self, arrays: dict[str, np.ndarray], n: int) -> None:
        """Into ``arrays`` (saved as one .npz with the rest of the view): the first ``n`` positions."""
        for name, a in self.str_cols.items():
            arrays[f"s_{name}"] = a[:n]
        for name, a in self.num_cols.items():
            arrays[f"n_{name}"] = a[:n]
        arrays["vocab"] = np.frombuffer(json.dumps({c: sorted(v, key=v.__getitem__) for c, v in self.vocab.items()},
                                                   ensure_ascii=False).encode(), dtype=np.uint8)

    @staticmethod
    def missing(files: Sequence[str]) -> list[str]:
        """The arrays of ``save`` a saved view lacks (saved before a field existed)."""
        return sorted(({f"s_{f.name}" for f in KEYWORD} | {f"n_{f.name}" for f in NUMERIC}) - set(files))

    def restore(self, data: Any, n: int) -> None:
        """What ``save`` saved, into columns grown to hold ``n`` positions."""
        for name, a in self.str_cols.items():
            a[:n] = data[f"s_{name}"]
        for name, a in self.num_cols.items():
            a[:n] = data[f"n_{name}"]
        vocab = json.loads(data["vocab"].tobytes().decode())
        for name in self.str_cols:
            for text in vocab[name]:
                self._add_code(name, text)

    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.str_cols.values()) + sum(a.nbytes for a in self.num_cols.values()))
