"""Where a buyer reaches a few of the demo factories: a shop (``url``), an email for sample
and quote requests (``email``), and their listings' own pages (product ``url``).

All on made-up ``.example`` domains (reserved, RFC 2606: never a real company's). Only the
first ``CONTACT_FACTORIES`` factories get them, so the demo shows both a factory that can
be written to, one with only a shop, and ones with no contact in the catalog at all. Pure
and draws no random numbers: adding contacts changes nothing else the generator writes.
"""
from __future__ import annotations

import re

CONTACT_FACTORIES = 10


def _slug(name_en: str) -> str:
    """The trade name of "Shenzhen Hengsheng Oral Care Products Co., Ltd.": hengsheng."""
    words = name_en.split()
    return re.sub(r"[^a-z0-9]", "", (words[1] if len(words) > 1 else words[0]).lower()) or "factory"


def add_contacts(factories: list[dict], listings: list[dict]) -> None:
    """Give the first factories a shop, every other one an email, and their listings a
    page on the shop (in place)."""
    shops: dict[str, str] = {}
    for n, f in enumerate(factories[:CONTACT_FACTORIES]):
        host = f"{_slug(f['names']['en'])}.example"
        if host in shops.values():
            host = f"{f['id']}.{host}"
        shops[f["id"]] = host
        f["url"] = f"https://{host}/"
        if n % 2 == 0:
            f["email"] = f"sales@{host}"
    for rec in listings:
        host = shops.get(rec["factory"])
        if host:
            rec["url"] = f"https://{host}/products/{rec['id']}"
