"""All category vocabularies by key."""
from __future__ import annotations

from gen import vocab_home, vocab_soft, vocab_tech
from gen.vocab_common import Category

CATEGORIES: dict[str, Category] = {c.key: c for c in (*vocab_tech.CATEGORIES, *vocab_soft.CATEGORIES,
                                                     *vocab_home.CATEGORIES)}
