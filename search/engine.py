"""The search path: understand the query, retrieve (anchored on the brand product it means,
plus BM25 + text kNN + image kNN of the query itself, filtered inside each), fuse, decide
every claim and rank as dupes. The one code path used by the service, the CLI and the
benchmarks.

Factory listings never carry a brand's words (that would be a counterfeit), so a brand
product's dupes are found from the brand product itself: the products that declare it
(``dupe_of``), the products of factories endorsed for its brand, and the products nearest
to its own text and image vectors, all within its category. Those anchor lists depend
only on the brand product and the filters, so they are cached per index generation.

Every page of a query is cut from one result list: retrieved and ranked at fixed depths
(``RETRIEVE_DEPTH``, ``RESULT_DEPTH``) whatever the page and ``k``, in a total order, so
``total`` is the same on every page and no listing is on two. ``list_key`` names the list.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from search import facets, models
from search.analysis import Analyzer, alias_map
from search.codes import brand_of, codes, match, record_codes, with_codes
from search.embedding import Embedder, EmbedderError, source_size
from search.facets import Facets
from search.fusion import RULE, Evidence, code_rule, lexical_weight, rrf, top_gap, zscore_fusion
from search.labels import TrademarkGuard
from search.objects import DetectedObject, detect, prominent, search_box, searched
from search.prices import FxTable
from search.ranking import UNKNOWN_BRAND, Candidate, RankingConfig, rank
from search.records import ENDORSEMENT_TYPES, BrandProduct
from search.requests import QueryError, SearchRequest, SearchResponse, Understanding, list_key
from search.store.base import Filters, Health, Hit, IndexInfo, Store
from search.store.schema import doc_id, label_key, record_id
from search.understanding import IMAGE_MIN, LISTING_DF_MAX, ProductHit, Resolution, Understander
from search.view import Anchors, CatalogView

log = logging.getLogger(__name__)


ANCHOR_DEPTH = 200            # declared / endorsed products fetched per anchor and field
# Every page of a query is cut from one result list computed at these depths, whatever
# the page and k: the z-scores, the relevance gate and the head all depend on how deep
# the lists go, and depths that grew with the offset gave each page another list (totals
# 59, 59, 89 on pages 1-3, ids on two pages).
RETRIEVE_DEPTH = 100          # hits per retrieval list (the depth the ranking was tuned at)
RESULT_DEPTH = 200            # head of the fused list decoded and ranked: no query has more results
ANCHOR_CACHE = 256
LISTING_CACHE = 20_000        # decoded listings kept per index generation
CATALOG_FACETS_KEPT_S = 60.0  # the catalog's facets reused across generations for this long
RECOUNT_MIN_S = 5.0           # ... and counted again at most this often, whatever a caller asks
COUNTS_KEPT_S = 60.0          # word counts in listings reused across generations for this long
READERS = 4                   # OCR calls queued beside image embeddings (web.work admits one photo per core)
ANCHOR_WEIGHT = 1.0           # each anchor list's weight in the fusion (the query's own lists sum to ~1-2)


class SearchEngine:
    def __init__(self, store: Store, text: Embedder, image: Embedder | None = None, ocr: Any = None, *,
                 ranking: RankingConfig = RankingConfig(), today: Callable[[], dt.date] = dt.date.today,
                 fx: FxTable | Mapping[str, float] = FxTable()) -> None:
        self.store, self.text, self.image, self.ocr = store, text, image, ocr
        self.ranking = ranking
        self.today = today
        # The one exchange table: savings are decided with its rates, responses state it.
        self.fx_table = fx if isinstance(fx, FxTable) else FxTable(dict(fx))
        self.fx = dict(self.fx_table.rates)
        self._view: CatalogView | None = None
        self._lock = threading.Lock()
        self._readers: ThreadPoolExecutor | None = None     # OCR beside the image embedding
        self._facets_lock = threading.Lock()
        self._catalog_facets: tuple[int, float, Facets] | None = None   # generation, when, counts
        # In how many listings a word occurs (counted up to LISTING_DF_MAX + 1), for the
        # understanding of each index generation: kept across generations for a while,
        # since a reindex writes a new generation every batch and the counts barely move.
        self._counts: dict[str, int] = {}
        self._counts_since = time.monotonic()
        models_ = {"text": text.model_id}
        if image is not None:
            models_["image"] = image.model_id
        store.check_models(models_)

    # -- catalog-level data, refreshed when the index changes ------------------------------
    def view(self) -> CatalogView:
        gen = self.store.generation()
        with self._lock:
            if self._view is None or self._view.generation != gen:
                brands = {d.source["id"]: models.brand(d.source) for d in self.store.scan("brand")}
                bps = {d.source["id"]: models.brand_product(d.source) for d in self.store.scan("brand_product")}
                analyzer = Analyzer(alias_map({"id": b.id, "names": b.names, "aliases": b.aliases,
                                               "trademarks": b.trademarks} for b in brands.values()))
                vectors: dict[str, dict[str, np.ndarray]] = {}
                images: dict[str, tuple[np.ndarray, ...]] = {}
                for d in self.store.get([doc_id("brand_product", i) for i in bps]):
                    if d is not None:
                        vectors[d.source["id"]] = {f: v for f, v in (("text", d.text_vector), ("image", d.image_vector))
                                                   if v is not None}
                        if d.image_vectors:
                            images[d.source["id"]] = tuple(d.image_vectors)
                understander = Understander(brands, bps, analyzer, self._listings_with, self.store.info().count)
                self._view = CatalogView(gen, analyzer, TrademarkGuard({b: b_.trademarks for b, b_ in brands.items()}),
                                         brands, bps, understander, vectors, image_vectors=images)
            return self._view

    def catalog_facets(self, max_age: float | None = None) -> Facets:
        """The filter values of the whole catalog with their counts. Counting reads every
        product (about 60 ms per thousand), and a reindex makes a new generation every
        batch: the counts are kept for their generation, and across generations while they
        are younger than ``max_age`` seconds (``CATALOG_FACETS_KEPT_S`` by default; the
        page's filter panel takes ten minutes, a value the kept counts lack asks for 0). One
        count at a time, and never two within ``RECOUNT_MIN_S``: a caller cannot make every
        search wait."""
        gen = self.store.generation()
        with self._facets_lock:
            kept = self._catalog_facets
            if kept is not None:
                age = time.monotonic() - kept[1]
                limit = CATALOG_FACETS_KEPT_S if max_age is None else max_age
                if kept[0] == gen or age < max(limit, RECOUNT_MIN_S):
                    return kept[2]
            counted = facets.count(facets.doc_row(d) for d in self.store.scan("product"))
            self._catalog_facets = (gen, time.monotonic(), counted)
            return counted

    # -- the facade for callers that show one listing or the index (web never reads the store)
    def listing(self, product_id: str) -> models.Listing | None:
        """A stored product as its read model, or None when the index has no such product."""
        did = doc_id("product", product_id)
        hit = self._listings(self.view(), [did]).get(did)       # the searches' cache of decoded listings
        return hit[0] if hit else None

    def factory_listings(self, x: models.Listing, k: int) -> list[models.Listing]:
        """Up to ``k`` other listings of ``x``'s factory, the most alike first (its text
        vector's nearest among the factory's listings), counterfeits left out as searches
        leave them out."""
        doc = self.store.get([doc_id("product", x.id)])[0]
        if doc is None or doc.text_vector is None:
            return []
        hits = self.store.knn("text", doc.text_vector, 2 * k + 1, Filters(factory=x.factory.id))
        guard = self.view().guard
        found = (models.listing(d.source, guard.find, words=d.tokens)
                 for d in self.store.get([h.id for h in hits if h.id != doc.id], vectors=False) if d is not None)
        return [o for o in found if not o.counterfeit][:k]

    def info(self) -> IndexInfo:
        return self.store.info()

    def health(self) -> Health:
        return self.store.health()

    def _listings_with(self, token: str) -> int:
        if time.monotonic() - self._counts_since > COUNTS_KEPT_S:
            self._counts, self._counts_since = {}, time.monotonic()
        n = self._counts.get(token)
        if n is None:
            n = self._counts[token] = len(self.store.bm25([token], LISTING_DF_MAX + 1, Filters()))
        return n

    # -- the search path -------------------------------------------------------------------
    def search(self, req: SearchRequest) -> SearchResponse:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        text = (req.text or "").strip()
        if not text and req.image is None and not req.brand_product and not req.brand:
            raise QueryError("give a text query or a photo", "text")
        view = self.view()
        key = list_key(req)                            # of the request as asked (an object's box is added below)
        whole = self._read_whole(req, timings)
        req, objects, ivec = self._objects(view, req, timings)
        u = Understanding(text=text or None, objects=objects)
        image = _crop(req.image, req.crop) if req.image is not None else None
        reading = (self._start_reading(image, req, u, timings) if whole is None and image is not None and req.ocr
                   else None)

        t = time.perf_counter()
        qvec = self.text.embed(text, query=True) if text and req.mode != "bm25" else None
        if ivec is None and image is not None and self.image is not None:
            ivec = self.image.embed(image, query=True)
        if reading is not None:
            reading.result()
        if whole is not None:
            self._text_in_box(whole, req, u)
        res = self._understand(view, req, u, qvec, ivec)
        target = view.brand_products.get(res.product.id) if res.product else None
        brand = res.target_brand
        anchors = [target] if target else [bp for bp in view.brand_products.values()
                                           if brand and bp.brand == brand and bp.category in res.categories]
        timings["understand"] = time.perf_counter() - t

        t = time.perf_counter()
        n = RETRIEVE_DEPTH
        # The query's own lists as before the target was known (a category filter would
        # send its kNN from the graph to an exact scan); the ranking keeps the target's
        # category. The anchor lists are in the category.
        f = _query_filters(req.filters, brand)
        lists = self._query_lists(view, req, u, f, qvec, ivec, n)
        anchored = self._anchors(view, anchors, f, n) if anchors else None
        if anchored:
            lists.update(anchored.lists)
        timings["retrieve"] = time.perf_counter() - t

        t = time.perf_counter()
        cands = self._candidates(view, req, u, lists, anchored)
        timings["fuse"] = time.perf_counter() - t

        t = time.perf_counter()
        today = req.today or self.today()
        cfg = replace(UNKNOWN_BRAND if res.unknown_brand else self.ranking, group_by_factory=req.group_by_factory,
                      include_counterfeits=req.include_counterfeits)
        nearest = anchored.nearest if anchored else {}

        def closest(listing: models.Listing) -> BrandProduct | None:
            """With only a brand understood: the listing's nearest product of the brand."""
            sims = nearest.get(listing.id, {})
            own = [bp for bp in anchors if bp.category == listing.product.category]
            return max(own, key=lambda bp: (sims.get(bp.id, -1.0), -bp.price), default=None)

        shown = (req.filters.category,) if req.filters.category else res.categories
        results = rank(cands, target=target, brand=brand, categories=shown,
                       brand_products=view.brand_products, closest=closest, today=today, cfg=cfg,
                       labels=req.filters.labels, declared=anchored.declared if anchored else frozenset(),
                       claims=not res.unknown_brand, fx=self.fx, kinds=view.understander.kinds)
        timings["rank"] = time.perf_counter() - t
        page = results[req.offset:req.offset + req.k]
        return SearchResponse(u, page, len(results), (time.perf_counter() - t0) * 1000,
                              {k: round(v * 1000, 2) for k, v in timings.items()},
                              view.brand_products, self.fx_table, key, view.generation, today,
                              facets.count(facets.row(r.listing, r.claim.label.type) for r in results))

    def _read_whole(self, req: SearchRequest, timings: dict[str, float]) -> Future[list[Any]] | None:
        """The lines of text on the whole photo (with their boxes), read beside finding its
        objects and embedding it, when its text must be read: no crop (a user's crop is read
        on its own), not read before, and a reader that gives line boxes. The object
        searched gets the lines inside its box (``_text_in_box``), so finding objects costs
        no second read."""
        if (req.image is None or not req.ocr or self.ocr is None or req.crop is not None
                or req.ocr_text is not None or not hasattr(self.ocr, "read")):
            return None

        def read() -> list[Any]:
            t = time.perf_counter()
            try:
                return self.ocr.read(req.image)
            finally:
                timings["ocr"] = time.perf_counter() - t
        return self._reader_pool().submit(read)

    def _text_in_box(self, whole: Future[list[Any]], req: SearchRequest, u: Understanding) -> None:
        """``u.ocr_text`` from the whole photo's lines: the confident ones, and with a box
        searched (an object's), those whose centre lies in it."""
        try:
            lines = whole.result()
        except EmbedderError as e:
            _ocr_failed(u, e)
            return
        keep = [ln for ln in lines if ln.score >= getattr(self.ocr, "min_score", 0.5)]
        if req.crop is not None:
            W, H = source_size(req.image)
            sx, sy = req.image.size[0] / W, req.image.size[1] / H
            x, y, w, h = req.crop[0] * sx, req.crop[1] * sy, req.crop[2] * sx, req.crop[3] * sy
            keep = [ln for ln in keep if x <= sum(p[0] for p in ln.box) / 4 <= x + w
                    and y <= sum(p[1] for p in ln.box) / 4 <= y + h]
        u.ocr_text = " ".join(ln.text for ln in keep) or None

    def _reader_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="ocr")
            return self._readers

    def _start_reading(self, image: Any, req: SearchRequest, u: Understanding,
                       timings: dict[str, float]) -> Future[None] | None:
        """Read the text on the photo beside the image embedding (``_read_text``), or
        nothing to wait for when it is already known or no reader is configured.

        Both are onnxruntime sessions on every core, but neither keeps them busy all the
        time (resizing, the detector's box extraction and the per-line crops are single
        threaded Python/numpy), so side by side they take less than one after the other."""
        if self.ocr is None or (req.ocr_text is not None and req.crop is None):
            self._read_text(image, req, u, timings)
            return None
        return self._reader_pool().submit(self._read_text, image, req, u, timings)

    def _read_text(self, image: Any, req: SearchRequest, u: Understanding, timings: dict[str, float]) -> None:
        """The text on the photo, into ``u``: given (read before) or read now. An OCR
        failure costs the search its OCR evidence only, and the response says so."""
        if req.ocr_text is not None and req.crop is None:
            u.ocr_text = req.ocr_text or None
            return
        if self.ocr is None:
            return
        t = time.perf_counter()
        try:
            u.ocr_text = self.ocr.read_text(image) or None
        except EmbedderError as e:
            _ocr_failed(u, e)
        timings["ocr"] = time.perf_counter() - t

    def _understand(self, view: CatalogView, req: SearchRequest, u: Understanding, qvec: np.ndarray | None,
                    ivec: np.ndarray | None) -> Resolution:
        """What is meant: the brand product (or brand + categories), from the words, the
        photo and the text on it, against the catalog's brand products. Fills ``u``."""
        dense = view.nearest_brand_products("text", qvec)
        near = view.nearest_brand_products("image", ivec)
        res = view.understander.understand(
            u.text, ocr_text=u.ocr_text, user_brand=req.brand, user_product=req.brand_product, dense=dense,
            image=near, known_word=lambda w: bool(self.store.bm25([w], 1, Filters())))
        u.brand, u.other_brands, u.brand_product = res.brand, res.other_brands, res.product
        u.alternatives, u.categories, u.unknown_brand = res.alternatives, res.categories, res.unknown_brand
        # "Looks like": what the photo alone would name (a weaker neighbour is noise), and,
        # with a brand product understood, only of its kind (a second product on the photo
        # is offered among the alternatives).
        kind = res.product.category if res.product else None
        looks = [(view.brand_products[i], s) for i, s in near[:3] if s >= IMAGE_MIN]
        u.looks_like = [ProductHit(bp.id, bp.brand, bp.category, "image", round(s, 3)) for bp, s in looks
                        if kind is None or bp.category == kind]
        return res

    def _objects(self, view: CatalogView, req: SearchRequest,
                 timings: dict[str, float]) -> tuple[SearchRequest, list[DetectedObject], np.ndarray | None]:
        """The distinct products on the photo (``search.objects``) and the request with the
        box searched: ``req.object``'s, else the most prominent one's when there are two or
        more; one product (or none) is searched on the whole photo. A crop is the user's
        choice: nothing is detected. The square around the chosen box becomes the request's
        crop, so the text read on the whole photo (``ocr_text``) is not used for it. The
        third value: the image query vector of what is searched, when already embedded."""
        if req.image is None or self.image is None or req.crop is not None:
            if req.object is not None:
                raise QueryError("object: give either crop or object, and a photo"
                                 if req.crop is not None or req.image is None else
                                 "object: no image model to find objects with", "object")
            return req, [], None
        t = time.perf_counter()
        whole: list[np.ndarray] = []

        def embed(crops: list[Any]) -> np.ndarray:
            # the whole photo in the same batch: it decides whether a part is searched
            vecs = self.image.embed_batch([req.image, *crops], query=True)
            whole.append(vecs[0])
            return vecs[1:]
        nearest = partial(view.nearest_brand_products, "image", k=1)
        found = detect(req.image, embed, nearest, view.brand_products, source_size(req.image))
        timings["objects"] = time.perf_counter() - t
        if req.object is not None and not 0 <= req.object < len(found):
            raise QueryError(f"object: {req.object} is not one of the {len(found)} objects found on the photo"
                             if found else f"object: {req.object}: no separate objects were found on the photo",
                             "object")
        chosen = req.object if req.object is not None else prominent(found)
        if chosen is None:      # the whole photo is searched: embedded already if parts were proposed
            return req, found, whole[0] if whole else None
        if req.object is None and whole:
            # One product filling the photo is split into parts too (a cropped picture, a
            # long product); the photo matches a brand product at least as well as any of
            # its parts then, and is searched whole (the parts stay offered).
            best = nearest(whole[0])
            if best and best[0][1] >= max(o.confidence for o in found):
                return req, found, whole[0]
        return (replace(req, crop=search_box(found[chosen].box, source_size(req.image))), searched(found, chosen),
                found[chosen].vector)

    def _query_lists(self, view: CatalogView, req: SearchRequest, u: Understanding, f: Filters,
                     qvec: np.ndarray | None, ivec: np.ndarray | None, n: int) -> dict[str, list[Hit]]:
        """The query's own retrievals: BM25 and kNN of its words, kNN of its photo, BM25 of
        the text read on the photo."""
        lists: dict[str, list[Hit]] = {}
        if u.text:
            # A code spelled with a space ("wf 1000xm5") also looks up its joined form.
            u.tokens = with_codes(view.analyzer.tokens(u.text), u.text)
            if req.mode in ("hybrid", "bm25"):
                lists["bm25"] = self.store.bm25(u.tokens, n, f)
            if qvec is not None:
                lists["text"] = self.store.knn("text", qvec, n, f)
        if ivec is not None:
            lists["image"] = self.store.knn("image", ivec, n, f)
        if u.ocr_text and req.mode != "dense":
            lists["ocr"] = self.store.bm25(view.analyzer.tokens(u.ocr_text), n, f)
        return lists

    def _candidates(self, view: CatalogView, req: SearchRequest, u: Understanding, lists: dict[str, list[Hit]],
                    anchored: Anchors | None) -> list[Candidate]:
        """The lists fused (per-query weights: what the lexical and dense lists say about
        themselves decides how much BM25 counts, ``search.fusion.lexical_weight``), the
        product-code rule applied (hybrid) and the head decoded into read models."""
        weights: dict[str, float] = {}
        ranked = {k: [(h.id, h.score) for h in v] for k, v in lists.items()}
        qcodes = codes(u.text) if u.text else ()
        if "bm25" in lists:
            best = [d for d in self.store.get([h.id for h in lists["bm25"][:3]], vectors=False) if d is not None]
            cov = _coverage(u.tokens, [d.tokens for d in best])
            w = (lexical_weight(Evidence(cov, top_gap(ranked["bm25"]), top_gap(ranked.get("text", ()))))
                 if req.mode == "hybrid" else 1.0)
            weights["bm25"] = w
            u.lexical_weight = round(w, 3)
        if "text" in lists:
            weights["text"] = 1.0 - weights.get("bm25", 0.0) if req.mode == "hybrid" else 1.0
        if "image" in lists:
            weights["image"] = 1.0
        if "ocr" in lists:
            weights["ocr"] = 0.3
        for name in ("anchor_text", "anchor_image"):
            if name in lists:
                weights[name] = ANCHOR_WEIGHT
        fused = zscore_fusion(ranked, weights) if req.fusion == "zscore" else rrf(ranked, weights)
        # Only the head of the fused list is fetched and ranked (the relevance gate,
        # counterfeits and grouping take their share of it): the same head for every page.
        head = fused[:RESULT_DEPTH]
        decoded = self._listings(view, [i for i, _ in head])
        if qcodes and req.mode == "hybrid":
            found = {i: x[0] for i, x in decoded.items()}
            head = code_rule(head, {i: match(qcodes, record_codes(x.product.titles, x.product.attributes))
                                    for i, x in found.items()},
                             {i: _listing_brand(view, x) for i, x in found.items()},
                             RULE.code_bonus if req.fusion == "zscore" else 0.0)
        raw = {k: {h.id: h.score for h in v} for k, v in lists.items()}
        qset = set(u.tokens)
        cands = []
        for did, score in head:
            if did not in decoded:
                continue
            listing, tokens = decoded[did]
            signals = {k: raw[k][did] for k in raw if did in raw[k]}
            cands.append(Candidate(record_id(did), score, signals, listing, sorted(qset.intersection(tokens))))
        return cands

    def _listings(self, view: CatalogView, ids: list[str]) -> dict[str, tuple[models.Listing, list[str]]]:
        """Documents decoded into listings (with their tokens), from the view's cache or the store."""
        out: dict[str, tuple[models.Listing, list[str]]] = {}
        with self._lock:
            for i in ids:
                hit = view.listings.get(i)
                if hit is not None:
                    out[i] = hit
        missing = [i for i in ids if i not in out]
        fetched = {}
        for d in self.store.get(missing, vectors=False) if missing else ():
            if d is not None:
                fetched[d.id] = (models.listing(d.source, view.guard.find, view.factories, d.tokens), d.tokens)
        out.update(fetched)
        with self._lock:
            view.listings.update(fetched)
            while len(view.listings) > LISTING_CACHE:
                view.listings.popitem(last=False)
        return out

    def _anchors(self, view: CatalogView, anchors: list[BrandProduct], f: Filters, n: int) -> Anchors:
        """The candidates found from the brand products themselves (see the module
        docstring), cached per generation, anchors and filters."""
        key = (tuple(bp.id for bp in anchors), f, n)
        with self._lock:
            hit = view.anchors.get(key)
            if hit is not None:
                view.anchors.move_to_end(key)
                return hit
        best: dict[str, dict[str, float]] = {"anchor_text": {}, "anchor_image": {}}
        nearest: dict[str, dict[str, float]] = {}
        declared: set[str] = set()
        for bp in anchors:
            # a label filter already names the brand (``_query_filters``)
            endorsed = f.labels or tuple(label_key(t, bp.brand) for t in ENDORSEMENT_TYPES)
            # In the brand product's category, unless the user chose one. The nearest
            # listings are searched without it (a category filter sends the search from
            # the graph to a slow oversampled scan; a brand product's neighbours are
            # mostly of its kind) and the ranking keeps only its category.
            cat = f.category or bp.category
            scopes = (("declared", replace(f, category=cat, dupe_of=(bp.id,)), ANCHOR_DEPTH),
                      ("endorsed", replace(f, category=cat, labels=endorsed), ANCHOR_DEPTH),
                      ("near", f, 2 * n))
            for name, vec in view.vectors.get(bp.id, {}).items():
                out = best[f"anchor_{name}"]
                for scope, flt, k in scopes:
                    for h in self.store.knn(name, vec, k, flt):
                        if h.score > out.get(h.id, -2.0):
                            out[h.id] = h.score
                        sims = nearest.setdefault(record_id(h.id), {})
                        sims[bp.id] = max(sims.get(bp.id, -2.0), h.score)
                        if scope == "declared":
                            declared.add(record_id(h.id))
        lists = {k: [Hit(i, s) for i, s in sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))]
                 for k, v in best.items() if v}
        result = Anchors(lists, nearest, frozenset(declared))
        with self._lock:
            view.anchors[key] = result
            while len(view.anchors) > ANCHOR_CACHE:
                view.anchors.popitem(last=False)
        return result


def _ocr_failed(u: Understanding, e: EmbedderError) -> None:
    """An OCR failure costs the search its OCR evidence only, and the response says so."""
    log.warning("OCR failed, searching without the text on the photo: %s", e)
    u.ocr_error = "the text on the photo could not be read: searched without it"


def _query_filters(f: Filters, brand: str | None) -> Filters:
    """The user's filters as the store applies them: a label filter narrows to factories
    endorsed for the brand searched for (the claim rule decides the label after)."""
    labels = tuple(label_key(x, brand) for x in f.labels) if brand and f.labels else f.labels
    return replace(f, labels=labels)


def _listing_brand(view: CatalogView, listing: models.Listing) -> str | None:
    """Whose product a listing is, for the code rule: its maker attribute, else the brand
    of the brand product it declares."""
    p = listing.product
    return brand_of(p.attributes) or next((view.brand_products[b].brand for b in p.dupe_of
                                           if b in view.brand_products), None)


def _coverage(query_tokens: list[str], hit_tokens: list[list[str]]) -> float:
    """Share of distinct query tokens present in the best lexical hits."""
    q = set(query_tokens)
    if not q or not hit_tokens:
        return 0.0
    best = max(len(q.intersection(t)) for t in hit_tokens)
    return best / len(q)


def _crop(image: Any, crop: tuple[int, int, int, int] | None) -> Any:
    """The part of ``image`` that ``crop`` names in the pixels of the photo as sent (a
    large JPEG is decoded at a reduced scale: ``indexer.images.source_size``)."""
    if crop is None:
        return image
    x, y, w, h = crop
    W, H = source_size(image)
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > W or y + h > H:
        raise QueryError(f"crop ({x}, {y}, {w}, {h}) is outside the {W}x{H} photo", "crop")
    if (W, H) == image.size:
        return image.crop((x, y, x + w, y + h))
    sx, sy = image.size[0] / W, image.size[1] / H
    left, top = min(math.floor(x * sx), image.size[0] - 1), min(math.floor(y * sy), image.size[1] - 1)
    return image.crop((left, top, max(left + 1, math.ceil((x + w) * sx)), max(top + 1, math.ceil((y + h) * sy))))
