"""The Elasticsearch store against the shared contract (emulator, or a real cluster when
``DUPE_ES_URL`` is set). Backend-specific checks live in ``tests/test_elastic_extra.py``."""
from __future__ import annotations

import pytest

from tests.store_contract import StoreContract

pytest_plugins = ["tests.es_server"]

pytestmark = pytest.mark.slow  # the store contract on the Elasticsearch emulator


@pytest.fixture
def make_store(es_store_factory):
    return es_store_factory


class TestElasticStore(StoreContract):
    pass
