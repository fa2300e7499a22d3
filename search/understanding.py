"""Query understanding (pure): which brand product a query means, else which brand and
categories, else nothing; and whether it names a brand the catalog does not carry.

Evidence, strongest first: the user's correction; a brand product's own nickname
(catalog ``aliases``: "stanley cup", 冰霸杯, 小棕瓶); its distinctive words (a product line
or model number from its titles: "align", "quencher", "HX9911") next to its brand's name;
the multilingual text model's similarity between the query and brand-product titles
(computed by the engine, passed in); the photo's nearest brand product by image and the
text read on it (OCR). Brand names are found in any script (``search.brands``); a brand
found only by sound must agree with the kind of product the query is about, so "레깅스"
(leggings) never becomes a jacket brand.

The engine turns a ``Resolution`` into retrieval anchored on the brand product
(``search.engine``); nothing here touches the index.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from search.analysis import Analyzer, is_cjk, normalise
from search.brands import BrandDetector, BrandHit, NameMatcher
from search.known_brands import KNOWN_BRANDS
from search.records import Brand, BrandProduct

# Words that say "an alternative to X" in the languages buyers use; they are not product
# words, so they are left out when matching brand-product titles.
INTENT_WORDS = frozenset("""
dupe dupes duplicate alternative alternatives alt alike lookalike look copy knockoff similar like cheaper cheap
budget affordable version vs recommend recommended best same
平替 同款 替代 代替 仿款 类似 平价 便宜 推荐 高仿 一样 同厂 代工 替代品 相似 类似款 平价版 同款式
대체품 듀프 짝퉁 비슷한 저렴한 추천 대체 가성비
代用品 代わり ジェネリック 似てる プチプラ 安い おすすめ そっくり
аналог аналоги замена дубликат дешевый дешевая дешевле похожий копия
thay thế giá rẻ rẻ tương tự hàng
alternativa barato barata dupe similar parecido alternativas
alternative pas cher similaire équivalent
günstige günstig ähnlich ersatz
ทดแทน ราคาถูก เหมือน
""".split())
_INTENT_PATTERNS = (
    re.compile(r"^(?:dupes?|alternatives?|alternativas?|аналоги?|замена|дубликат|thay thế|cheaper|budget)"
               r"\s+(?:for|of|to|a|de|à|al|для|cho|zu)?\s*(?P<s>.+)$"),
    re.compile(r"^(?P<s>.+?)\s*(?:dupes?|alternatives?|alternativas?|аналоги?|дубликат|замена|대체품|듀프|"
               r"の代わり|代わり|代用品|ジェネリック|平替|同款|替代品?|代替|仿款|类似款?|平价版?|thay thế|"
               r"ทดแทน|pas cher|barato|günstige alternative)(?:\s.*)?$"),
)
WORDS_STRONG = 0.7      # a brand product found by its distinctive words scores at least this
DENSE_NO_BRAND = 0.70   # text similarity that names a brand product when no brand was named
DENSE_IN_BRAND = 0.30   # ... when its brand was named (then it chooses among the brand's products)
KIND_VOTE = 0.5         # a vote this strong for another kind of product overrules that choice
CATEGORY_VOTE = 0.6     # without a brand, a query this much about one category's words stays in it
# Image similarity that names a brand product (a photo, or an object found on one). 0.55 ->
# 0.50: on the objects benchmark's tune half, crops named at 0.50-0.55 were 7 of 7 right and
# single photos understood 0.897 -> 0.921; real grocery photos stay far below (max 0.29).
IMAGE_MIN = 0.50
IMAGE_IN_BRAND = 0.30   # ... among the products of a brand named by the words or the photo's text
COMMIT = 0.5            # a brand product is the target from this score
SUBJECT_CLOSE = 0.5     # an "X dupe" this close to a brand product is not about an unknown brand
AMBIGUOUS = 0.06        # others this close to the best are offered as alternatives
DISTINCT_DF = 2         # a title word shared by at most this many brand products identifies them...
LISTING_DF_MAX = 3      # ... if at most this many factory listings use it (counterfeits do)
LISTING_SHARE_MAX = 0.01  # ... and at most this share of them (a small catalog)


@dataclass(frozen=True)
class ProductHit:
    id: str
    brand: str
    category: str
    how: str              # user | alias | words | kind | text | image | ocr | only
    confidence: float


@dataclass
class Resolution:
    brand: BrandHit | None = None
    other_brands: list[BrandHit] = field(default_factory=list)
    product: ProductHit | None = None
    alternatives: list[ProductHit] = field(default_factory=list)
    categories: tuple[str, ...] = ()
    unknown_brand: str | None = None

    @property
    def target_brand(self) -> str | None:
        return self.product.brand if self.product else (self.brand.brand if self.brand else None)


@dataclass(frozen=True)
class _Evidence:
    score: float
    how: str
    order: tuple[float, ...] = ()       # the sort key (score first, then tie-breaks)


def intent_subject(text: str) -> str | None:
    """"nike air force 1 dupe" -> "nike air force 1": what an "alternative to X" query is about."""
    norm = normalise(text)
    for pat in _INTENT_PATTERNS:
        m = pat.match(norm)
        if m and m.group("s").strip() and m.group("s").strip() != norm:
            return m.group("s").strip(" ,.-")
    return None


class Understander:
    """Built once per catalog generation from its brands and brand products."""

    def __init__(self, brands: Mapping[str, Brand], products: Mapping[str, BrandProduct], analyzer: Analyzer,
                 listings_with: Callable[[str], int] | None = None, n_listings: int = 0) -> None:
        """``listings_with(token)``: in how many of the ``n_listings`` factory listings a
        token occurs (counted up to ``LISTING_DF_MAX + 1``); a word that listings use
        ("leggings") does not identify a brand product even when few brand-product titles
        have it."""
        self.brands, self.products, self.analyzer = brands, products, analyzer
        self.detector = BrandDetector(brands.values())
        self.nicknames = NameMatcher({bp.id: bp.aliases for bp in products.values() if bp.aliases})
        self._known_names = {k[0]: k for k in KNOWN_BRANDS}
        self.known = NameMatcher(self._known_names)
        most = min(LISTING_DF_MAX, int(n_listings * LISTING_SHARE_MAX))

        def rare(t: str) -> bool:       # (nearly) no factory listing uses the word
            return listings_with is None or listings_with(t) <= most

        # Tokens that only say which brand it is (its names and aliases, not its product
        # lines), left out when matching product words; an alias's product words
        # ("飞利浦电动牙刷", "vitamix blender": listings use them) stay product words.
        self._brand_words = {b.id: {t for t in analyzer.tokens_many([*b.names.values(), *b.aliases, b.id]) if rare(t)}
                             for b in brands.values()}
        self._tokens: dict[str, set[str]] = {}
        for bp in products.values():
            toks = set(analyzer.tokens_many([*bp.titles.values(), *bp.aliases]))
            self._tokens[bp.id] = toks - self._brand_words.get(bp.brand, set()) - INTENT_WORDS
        df: dict[str, int] = {}
        for toks in self._tokens.values():
            for t in toks:
                df[t] = df.get(t, 0) + 1
        n = max(len(products), 1)
        self._idf = {t: math.log(1 + n / d) for t, d in df.items()}
        self._idf_unknown = math.log(1 + n)
        # Words that identify a brand product: in few brand-product titles and (nearly) no
        # factory listing (a product line or model number: "align", "quencher", "hx9911").
        self._distinct = {t for t, d in df.items() if d <= DISTINCT_DF and len(t) >= 2 and rare(t)}
        # Each brand product's title weight, to prefer among equals the one the query
        # names most completely ("align" -> Align, not Align Mini-Flare).
        titles = {bp.id: set(analyzer.tokens_many(bp.titles.values())) for bp in products.values()}
        self._own = {i: sum(self._idf[t] for t in toks & titles[i]) for i, toks in self._tokens.items()}
        self.kinds = _kind_words(products, {i: toks & titles[i] for i, toks in self._tokens.items()},
                                 lambda t: not rare(t))

    # -- pieces ------------------------------------------------------------------------
    def product_words(self, text: str, brands: Iterable[str] = ()) -> list[str]:
        """The query's tokens without brand names and "dupe" words."""
        drop = set(INTENT_WORDS)
        for b in brands:
            drop |= self._brand_words.get(b, set())
        return [t for t in dict.fromkeys(self.analyzer.tokens(text)) if t not in drop]

    def by_words(self, words: Sequence[str]) -> dict[str, tuple[float, bool]]:
        """Brand products sharing words with the query: (share of the query's word weight
        they match, whether a distinctive word matched)."""
        if not words:
            return {}
        total = sum(self._idf.get(t, self._idf_unknown) for t in words)
        out: dict[str, tuple[float, bool]] = {}
        for bp_id, toks in self._tokens.items():
            matched = [t for t in words if t in toks]
            if matched:
                share = sum(self._idf[t] for t in matched) / total
                out[bp_id] = (share, any(t in self._distinct for t in matched))
        return out

    def category_votes(self, words_hits: Mapping[str, tuple[float, bool]],
                       dense: Sequence[tuple[str, float]]) -> dict[str, float]:
        """Which kinds of product the query is about, from the brand products it resembles."""
        votes: dict[str, float] = {}
        for bp_id, (share, _) in words_hits.items():
            cat = self.products[bp_id].category
            votes[cat] = max(votes.get(cat, 0.0), share)
        for bp_id, cos in dense[:3]:
            if bp_id in self.products and cos >= 0.3:
                cat = self.products[bp_id].category
                votes[cat] = max(votes.get(cat, 0.0), cos)
        return votes

    # -- the decision --------------------------------------------------------------------
    def understand(self, text: str | None, *, ocr_text: str | None = None, user_brand: str | None = None,
                   user_product: str | None = None, dense: Sequence[tuple[str, float]] = (),
                   image: Sequence[tuple[str, float]] = (),
                   known_word: Callable[[str], bool] | None = None) -> Resolution:
        """See the module docstring. ``dense``/``image``: (brand product id, cosine) of the
        query's text/photo against brand products, best first."""
        r = Resolution()
        text = (text or "").strip()
        dense = [(i, s) for i, s in dense if i in self.products]
        image = [(i, s) for i, s in image if i in self.products]

        if user_product in self.products:
            bp = self.products[user_product]
            r.product = ProductHit(bp.id, bp.brand, bp.category, "user", 1.0)
            r.brand = BrandHit(bp.brand, self.detector.name(bp.brand), bp.brand, "user", 1.0)
            r.categories = (bp.category,)
            return r

        text_hits = self.detector.detect(text) if text else []
        ocr_hits = self.detector.detect(ocr_text, how="ocr") if ocr_text else []
        words = self.product_words(text, [h.brand for h in text_hits]) if text else []
        word_hits = self.by_words(words)
        votes = self.category_votes(word_hits, dense)
        # A brand heard only by sound must fit the kind of product asked about; a brand
        # only misspelt or heard is not the one meant when the query names, exactly, a
        # well-known brand the catalog does not carry ("몽클레어" is Moncler, not MAC).
        text_hits = [h for h in text_hits if h.how != "sound" or self._fits(h.brand, votes)]
        if text_hits and all(h.how in ("fuzzy", "sound") for h in text_hits) and \
                self.known.find(text, fuzzy=False, sound=False):
            text_hits = []
        hits = text_hits + [h for h in ocr_hits if h.brand not in {x.brand for x in text_hits}]
        if user_brand in self.brands:
            hits = [BrandHit(user_brand, self.detector.name(user_brand), user_brand, "user", 1.0)] + \
                   [h for h in hits if h.brand != user_brand]
        # The brand products considered: of the brands named (the user's choice alone, if made).
        brand_ids = [h.brand for h in hits[:1]] + [h.brand for h in hits[1:] if h.how != "ocr" and not user_brand]

        evidence = self._evidence(text, ocr_text, words, word_hits, votes, dense, image, brand_ids)
        ranked = sorted(evidence.items(), key=lambda kv: tuple(-x for x in kv[1].order) + (kv[0],))
        if ranked and ranked[0][1].score >= COMMIT:
            best_id, best = ranked[0]
            bp = self.products[best_id]
            r.product = ProductHit(bp.id, bp.brand, bp.category, best.how, round(min(best.score, 1.0), 3))
            r.alternatives = [self._hit(i, e) for i, e in ranked[1:4]
                              if e.score >= max(COMMIT, best.score - AMBIGUOUS)]
            if not hits or hits[0].brand != bp.brand:
                found = next((h for h in hits if h.brand == bp.brand), None)
                hits = [found or BrandHit(bp.brand, self.detector.name(bp.brand), bp.id, best.how,
                                          r.product.confidence)] + [h for h in hits if h.brand != bp.brand]
            r.categories = (bp.category,)
            # Another brand named too (two products on one photo, "lululemon or alo"):
            # its most likely product is offered.
            for other in hits[1:3]:
                theirs = self._evidence(text, ocr_text, words, word_hits, votes, dense, image, [other.brand])
                if theirs:
                    i, e = max(theirs.items(), key=lambda kv: kv[1].order)
                    if e.score >= COMMIT and i not in {a.id for a in r.alternatives}:
                        r.alternatives.append(self._hit(i, e))
        elif hits:
            self._brand_only(r, hits[0], votes, ranked)
        elif word_hits:
            # No brand: a query whose words are mostly those of one kind of product
            # ("保温杯 吸管") stays in that category.
            lexical = self.category_votes(word_hits, ())
            top = max(lexical.items(), key=lambda kv: kv[1])
            if top[1] >= CATEGORY_VOTE and all(v < top[1] - 0.2 for c, v in lexical.items() if c != top[0]):
                r.categories = (top[0],)
        r.brand, r.other_brands = (hits[0], hits[1:]) if hits else (None, [])
        # "No dupes of X" is said by a catalog of dupes: one with brand products.
        if r.brand is None and r.product is None and text and self.products:
            r.unknown_brand = self._unknown(text, known_word, any(c >= SUBJECT_CLOSE for _, c in dense))
        return r

    def _brand_only(self, r: Resolution, hit: BrandHit, votes: Mapping[str, float],
                    ranked: Sequence[tuple[str, _Evidence]]) -> None:
        """No one product named: the brand and the categories asked about (its only
        product of them, if it has one), its products with some evidence offered."""
        cats = self._categories_of(hit.brand)
        cats = tuple(c for c in cats if votes.get(c, 0.0) >= 0.3) or cats
        in_cats = [bp for bp in self.products.values() if bp.brand == hit.brand and bp.category in cats]
        if len(in_cats) == 1:
            bp = in_cats[0]
            r.product = ProductHit(bp.id, bp.brand, bp.category, "only", round(hit.confidence * 0.8, 3))
            cats = (bp.category,)
        else:
            r.alternatives = [self._hit(i, e) for i, e in ranked[:3]
                              if self.products[i].brand == hit.brand and e.score >= 0.3]
        r.categories = cats

    def _categories_of(self, brand: str) -> tuple[str, ...]:
        """The brand's categories, and those of its products."""
        b = self.brands.get(brand)
        own = (bp.category for bp in self.products.values() if bp.brand == brand)
        return tuple(dict.fromkeys((*(b.categories if b else ()), *own)))

    def _fits(self, brand: str, votes: Mapping[str, float]) -> bool:
        if not votes:
            return True
        top = max(votes.values())
        return any(votes.get(c, 0.0) >= top - 0.1 for c in self._categories_of(brand))

    def _kind_fits(self, bp_id: str, votes: Mapping[str, float]) -> bool:
        """A brand product is not the one meant when the query is clearly about another
        kind of product ("lululemon tumbler")."""
        if not votes or max(votes.values()) < KIND_VOTE:
            return True
        return votes.get(self.products[bp_id].category, 0.0) >= max(votes.values()) - 0.1

    def _hit(self, bp_id: str, e: _Evidence) -> ProductHit:
        bp = self.products[bp_id]
        return ProductHit(bp.id, bp.brand, bp.category, e.how, round(min(e.score, 1.0), 3))

    def _evidence(self, text: str, ocr_text: str | None, words: Sequence[str],
                  word_hits: Mapping[str, tuple[float, bool]], votes: Mapping[str, float],
                  dense: Sequence[tuple[str, float]], image: Sequence[tuple[str, float]],
                  brand_ids: Sequence[str]) -> dict[str, _Evidence]:
        """The best evidence for each brand product (restricted to the named brands, if any)."""
        out: dict[str, _Evidence] = {}

        def add(bp_id: str, score: float, how: str) -> None:
            if bp_id in self.products and score > out.get(bp_id, _Evidence(0.0, "")).score:
                out[bp_id] = _Evidence(score, how)

        for h in self.nicknames.find(text) if text else []:
            # a nickname only heard in another script counts for a brand named too
            if h.how != "sound" or self.products[h.brand].brand in brand_ids:
                add(h.brand, h.confidence, "alias")
        for bp_id, (share, distinct) in word_hits.items():
            in_brand = self.products[bp_id].brand in brand_ids
            if distinct:
                add(bp_id, WORDS_STRONG + (1 - WORDS_STRONG) * share, "words")
            elif in_brand:
                add(bp_id, 0.45 + 0.4 * share, "kind")
        named = set(brand_ids)
        in_brand = [(i, c) for i, c in dense if self.products[i].brand in named]
        if words and in_brand and in_brand[0][1] >= DENSE_IN_BRAND and self._kind_fits(in_brand[0][0], votes):
            # The brand is named and the query has words of a product ("дайсон фен"): text
            # similarity chooses among the brand's products (the others are offered as
            # alternatives). "lululemon" alone means no one product of it.
            for i, c in in_brand[:3]:
                add(i, COMMIT + 0.2 * c, "text")
        for bp_id, cos in dense:
            if self.products[bp_id].brand not in named and cos >= DENSE_NO_BRAND:
                add(bp_id, cos, "text")
        for bp_id, cos in image:
            if cos >= IMAGE_MIN:
                add(bp_id, cos, "image")
        in_brand = [(i, c) for i, c in image if self.products[i].brand in named]
        if in_brand and in_brand[0][1] >= IMAGE_IN_BRAND:
            # The brand is named (by the words or the text on the photo): the photo chooses
            # among its products even when too far from all of them to name one alone (a
            # product on a busy table).
            for i, c in in_brand[:3]:
                add(i, COMMIT + 0.2 * c, "image")
        if ocr_text:
            for h in self.nicknames.find(ocr_text, how="ocr", sound=False):
                add(h.brand, h.confidence * 0.95, "ocr")
            ocr_words = self.by_words(self.product_words(ocr_text, [b for b in self.brands]))
            for bp_id, (share, distinct) in ocr_words.items():
                if distinct:
                    add(bp_id, (WORDS_STRONG + (1 - WORDS_STRONG) * share) * 0.95, "ocr")
        if named:
            out = {i: e for i, e in out.items() if self.products[i].brand in named}
        # Near-ties (to 0.01) are broken by how completely the query names the product's
        # title, then by text similarity.
        closeness = dict(dense)
        named_words = set(self.analyzer.tokens(text)) if text else set()
        return {i: _Evidence(e.score, e.how, (round(e.score, 2), round(self._named_share(i, named_words), 3),
                                              closeness.get(i, 0.0)))
                for i, e in out.items()}

    def _named_share(self, bp_id: str, words: set[str]) -> float:
        own = self._own.get(bp_id, 0.0)
        if own <= 0:
            return 0.0
        return sum(self._idf[t] for t in self._tokens[bp_id] & words) / own

    def _unknown(self, text: str, known_word: Callable[[str], bool] | None, close_to_product: bool) -> str | None:
        """A brand the query names that the catalog does not carry: a well-known brand, or
        the subject of "X dupe" when X's words are unknown to the catalog and the query is
        not close to one of its brand products ("ap pro2 平替" is a way to write AirPods)."""
        for hit in self.known.find(text, fuzzy=False, sound=False):
            # A catalog whose listings use one of its names, in any language (a general
            # product catalog, not brand-free factory listings), carries that brand in its
            # own way.
            if known_word is not None and any(
                    (words := [w for w in self.analyzer.tokens(name) if not w.isdigit()])
                    and all(known_word(w) for w in words) for name in self._known_names[hit.brand]):
                return None
            # as the user wrote it when it is not in Latin letters (名创优品), else its name
            return hit.name if hit.matched.isascii() else hit.matched
        subject = intent_subject(text)
        if subject is None or known_word is None or close_to_product:
            return None
        # A name: a word of 3+ letters (2+ Chinese characters) the listings never use,
        # not a model code ("pro2") nor a short abbreviation ("ap").
        words = [w for w in self.analyzer.tokens(subject) if w not in INTENT_WORDS]
        if any(not known_word(w) for w in words if _name_like(w)):
            return subject
        return None


def _name_like(word: str) -> bool:
    if any(c.isdigit() for c in word):
        return False
    return len(word) >= (2 if is_cjk(word) else 3)


def _kind_words(products: Mapping[str, BrandProduct], words: Mapping[str, set[str]],
                listings_use: Callable[[str], bool]) -> dict[str, frozenset[str]]:
    """The words of each brand product's titles that say which kind of product it is
    within its category: words factory listings use too, not numbers or units, and not
    the category's own (its name's, or shared by every brand product of it: "toothbrush",
    "口红"). "Mixed nuts" against "Swiss roll"; "hardshell" against "parka"."""
    by_cat: dict[str, list[str]] = {}
    for bp in products.values():
        by_cat.setdefault(bp.category, []).append(bp.id)
    out: dict[str, frozenset[str]] = {}
    for cat, ids in by_cat.items():
        # the category's own words: its name's, and those every brand product of it has
        common = set(re.findall(r"[^\W_]+", cat.lower()))
        if len(ids) > 1:
            common |= set.intersection(*(words[i] for i in ids))
        for i in ids:
            out[i] = frozenset(t for t in words[i] - common if _kind_like(t) and listings_use(t))
    return out


# Units and one-character words that say nothing of the kind of product.
_NOT_KIND = frozenset("oz ml kg mg lb cm mm pcs pc packs pack rolls sheets inch 装 包 枚 盒 层 水 露 真 易 微 浅 领 的 款".split())


def _kind_like(t: str) -> bool:
    if t in _NOT_KIND or any(c.isdigit() for c in t):
        return False
    return len(t) >= (1 if is_cjk(t) else 3)
