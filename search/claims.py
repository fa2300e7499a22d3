"""The claim rule: what may be said about one factory product against one brand product.

A label (same foundry / equal quality) and a saving ("about 1/10 of the brand price") are
claims, decided here and nowhere else: search ranking, the ``label`` filter, product
pages, share cards, the API and the CLI all call ``decide``. The rule
(``../shared/PRODUCT.md``, "What a dupe is, and what may be claimed"):

1. a counterfeit (brand trademark words in the listing) is never compared: no label, no
   saving, flagged;
2. the product must be of the brand product's category, and of its kind (see
   ``comparability_problem``);
3. a product that declares itself (``dupe_of``) a dupe of other brand products is
   compared only with those;
4. then it may carry the strongest label its factory holds for the brand product's brand
   with valid evidence today (``search.labels``), and a saving per price tier that is below
   the brand price, in a comparable currency and units (``search.prices``).

Anything else is "similar" with no saving against that brand product. ``Claim.problems``
says why, as data, so callers and tests can show the reason.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from search.labels import SIMILAR, Label, label_for
from search.models import Listing, brand_contents
from search.prices import DEFAULT_FX_TO_CNY, TierSaving, tier_savings
from search.records import BrandProduct


@dataclass(frozen=True)
class Claim:
    label: Label
    against: BrandProduct | None            # the brand product compared with; None: not comparable
    savings: tuple[TierSaving, ...] = ()
    problems: tuple[str, ...] = ()          # why no label / no saving / not comparable

    @property
    def comparable(self) -> bool:
        return self.against is not None


NOTHING = Claim(SIMILAR, None, (), ("no brand product to compare with",))


def comparability_problem(listing: Listing, bp: BrandProduct, brand_products: Mapping[str, BrandProduct],
                          kinds: Mapping[str, frozenset[str]] | None = None) -> str | None:
    """Why ``listing`` may not be compared with ``bp`` at all (rules 1-3), or None.

    Stricter than the category alone, since a catalog's categories are broad ("food"
    holds nuts and jerky): a listing that declares brand products is compared only with
    those; one that declares none must share a word of ``bp``'s kind (``kinds``: brand
    product id -> the words of its titles that say which kind of product it is, see
    ``search.understanding``), when both sides have words to compare."""
    if listing.counterfeit:
        words = ", ".join(sorted({w for _, w in listing.trademark_hits}))
        return f"counterfeit: the listing uses the trademark {words}"
    if listing.product.category != bp.category:
        return f"another kind of product: {listing.product.category}, not {bp.category}"
    declared = [brand_products[d] for d in listing.product.dupe_of if d in brand_products]
    if declared and all(d.brand != bp.brand for d in declared):
        return "declared a dupe of another brand's product: " + ", ".join(d.id for d in declared)
    if declared and bp.id not in {d.id for d in declared}:
        return "declared a dupe of another product: " + ", ".join(d.id for d in declared if d.brand == bp.brand)
    kind = (kinds or {}).get(bp.id)
    if not declared and kind and listing.words and not kind & listing.words:
        return f"another kind of product than {bp.id}"
    return None


def decide(listing: Listing, bp: BrandProduct | None, today: dt.date, brand_products: Mapping[str, BrandProduct],
           fx: Mapping[str, float] = DEFAULT_FX_TO_CNY, kinds: Mapping[str, frozenset[str]] | None = None) -> Claim:
    """The claim ``listing`` may carry against ``bp`` today (see the module docstring)."""
    if bp is None:
        return NOTHING
    problem = comparability_problem(listing, bp, brand_products, kinds)
    if problem is not None:
        return Claim(SIMILAR, None, (), (problem,))
    label, label_problem = label_for(listing.factory, bp.brand, today)
    p = listing.product
    savings, saving_problem = tier_savings(p.price_tiers, p.currency, bp.price, bp.currency, fx,
                                           contents=listing.contents, brand_contents=brand_contents(bp))
    problems = tuple(x for x in (label_problem, saving_problem and f"no saving: {saving_problem}") if x)
    return Claim(label, bp, tuple(savings), problems)


def reference(listing: Listing, target: BrandProduct | None, brand_products: Mapping[str, BrandProduct],
              brand: str | None = None) -> BrandProduct | None:
    """The brand product a listing is compared with: the one the search is about; else,
    with only a brand understood, the listing's declared brand product of that brand;
    without either, the first brand product it declares."""
    if target is not None:
        return target
    declared = [brand_products[d] for d in listing.product.dupe_of if d in brand_products]
    if brand is not None:
        return next((d for d in declared if d.brand == brand), None)
    return declared[0] if declared else None
