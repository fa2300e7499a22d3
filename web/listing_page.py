"""The product page ``/p/<id>``: one factory listing, for the buyer who found it on the
search page and now decides and acts (not ``web.product_page``, which reads other shops'
product pages for ``page_url`` searches).

It shows everything the catalog says about the listing (titles, images, attributes, price
tiers, MOQ, the factory's terms, region, certifications and a few of its other listings),
every claim the one claim rule (``search.claims`` through ``service.product_json``) allows
against each brand product it is compared with -- the label with its full evidence, the
saving per price tier in the ``search.prices`` wording, the brand price converted into the
listing's currency -- the brand product side by side, and the buyer's next step: the
listing on the factory's shop, a sample / quote request (an email with a prefilled subject,
else the factory's shop), and sharing (the share card, the page's address).

``?bp=<brand product id>`` compares it with that brand product first: the card on the
search page links here with the brand product the search was about, so the page repeats
the card's claim. Server-rendered like the search page; the language is the page's
(``web.i18n``), and it stays on the page's links and share link.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, render_template, request

from search.models import Listing
from search.serialize import pick_title
from web import links, service
from web.i18n import remember_lang, t, ui_lang

bp = Blueprint("listing", __name__)
bp.after_request(remember_lang)

OTHER_LISTINGS = 6          # the factory's other listings shown: a few, the most alike first


def contact_href(product: dict[str, Any], page: str | None, lang: str) -> str | None:
    """Where "request a sample / quote" goes: an email to the factory with a subject naming
    the product (and the page's address in the body), else the factory's shop, else the
    listing itself; None when the catalog has none of them."""
    factory = product["factory"]
    if factory.get("email"):
        subject = t("sample_subject", lang, title=product["title"], id=product["id"])
        body = t("sample_body", lang, title=product["title"], id=product["id"], url=page or "")
        return f"mailto:{factory['email']}?subject={quote(subject, safe='')}&body={quote(body, safe='')}"
    return factory.get("url") or product.get("url")


def factory_listings(x: Listing, k: int) -> list[Listing]:
    """Up to ``k`` other listings of ``x``'s factory, the most alike first: what else a
    buyer could order there (``SearchEngine.factory_listings``)."""
    eng = service.engine()
    return service.guarded(lambda: eng.factory_listings(x, k))


def _other(x: Listing, lang: str) -> dict[str, Any]:
    p = x.product
    return {"id": p.id, "title": pick_title(p.titles, lang), "images": list(p.images),
            "min_price": p.min_price if p.price_tiers else None, "currency": p.currency,
            "detail_url": service.detail_url(p.id, None, lang)}


@bp.get("/p/<product_id>")
def product(product_id: str):
    lang = ui_lang()
    first = request.args.get("bp") or None
    # An unknown product or brand product: a 404 page in the page's language (``web.messages``).
    data = service.product_json(product_id, lang, first=first)
    x = service.listing(product_id)
    brands = service.guarded(service.engine().view).brands
    claims = data["dupe_of"]
    for c in claims:
        c["brand_name"] = pick_title(brands[c["brand"]].names, lang) if c["brand"] in brands else c["brand"]
    primary = next((c for c in claims if c["comparable"]), None)
    path = service.detail_url(product_id, first, lang, external=False)
    share_url = links.external(path)
    others = [_other(o, lang) for o in factory_listings(x, OTHER_LISTINGS)]
    return render_template("product.html", x=data, claims=claims, primary=primary, others=others,
                           share_url=share_url, og_url=links.absolute(path),
                           og_image=links.absolute(service.card_url(product_id, primary["id"], lang, external=False))
                           if primary else None,
                           contact=contact_href(data, links.absolute(path) or share_url, lang))
