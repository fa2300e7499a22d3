"""The app's own OpenAPI document, checked against the app by schemathesis (in process,
through WSGI): generated requests, valid and invalid, must never get a 5xx, and every
response must match the document (status codes, content types, bodies, headers)."""
from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

from tests.test_web_helpers import make_app  # noqa: E402

pytestmark = pytest.mark.slow  # schemathesis against the whole API

# Built at import: schemathesis' fixture-based (lazy) loading does not work with pytest 9.
_root = Path(tempfile.mkdtemp(prefix="dupe-openapi-"))
atexit.register(shutil.rmtree, _root, ignore_errors=True)
APP = make_app(_root)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP)

CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_api_conforms_to_its_openapi_document(case):
    case.call_and_validate(checks=CHECKS)
