"""How to reach an Elasticsearch cluster: ``ElasticConfig`` (from ``DUPE_ES_*``), validated,
and the client made from it (``make_client``); URLs in messages never show credentials."""
from __future__ import annotations

import logging
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from search.store.base import StoreError

#: Statuses retried, per request (transport) and per record (bulk).
RETRY_STATUS = (429, 502, 503, 504)
_INDEX_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,200}$")


# ElasticConfig field -> environment variable read by ElasticConfig.from_env().
ENV_VARS: dict[str, str] = {
    "urls": "DUPE_ES_URL", "api_key": "DUPE_ES_API_KEY", "user": "DUPE_ES_USER",
    "password": "DUPE_ES_PASSWORD", "ca_certs": "DUPE_ES_CA_CERTS", "verify_certs": "DUPE_ES_VERIFY_CERTS",
    "shards": "DUPE_ES_SHARDS", "replicas": "DUPE_ES_REPLICAS", "index_prefix": "DUPE_ES_INDEX_PREFIX",
    "request_timeout": "DUPE_ES_REQUEST_TIMEOUT",
}


@dataclass(frozen=True)
class ElasticConfig:
    """How to reach the cluster and shape the index. ``from_env()`` reads ``DUPE_ES_*``."""
    urls: tuple[str, ...] = ("http://localhost:9200",)
    api_key: str | None = None
    user: str | None = None
    password: str | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    shards: int = 1
    replicas: int = 1
    index_prefix: str = "dupe"
    request_timeout: float = 30.0
    max_retries: int = 3                 # per request (transport) and per record (bulk)
    initial_backoff: float = 1.0         # seconds before the first bulk retry, doubled each time
    max_backoff: float = 30.0
    chunk_size: int = 500                # records per bulk request
    knn_rescore: bool = True             # exact cosine rescoring of kNN candidates (see es_queries)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "ElasticConfig":
        """Configuration from environment variables (unset or empty ones keep the default).

        ``DUPE_ES_URL`` (comma-separated for several nodes), ``DUPE_ES_API_KEY`` or
        ``DUPE_ES_USER`` + ``DUPE_ES_PASSWORD``, ``DUPE_ES_CA_CERTS`` (PEM file),
        ``DUPE_ES_VERIFY_CERTS`` (true/false), ``DUPE_ES_SHARDS``, ``DUPE_ES_REPLICAS``,
        ``DUPE_ES_INDEX_PREFIX``, ``DUPE_ES_REQUEST_TIMEOUT`` (seconds).
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}

        def get(key: str) -> str | None:
            v = env.get(ENV_VARS[key], "").strip()
            return v or None

        if (urls := get("urls")) is not None:
            values["urls"] = tuple(u.strip() for u in urls.split(",") if u.strip())
        for key in ("api_key", "user", "password", "ca_certs", "index_prefix"):
            if (v := get(key)) is not None:
                values[key] = v
        for key in ("shards", "replicas"):
            if (v := get(key)) is not None:
                values[key] = _parse_int(ENV_VARS[key], v)
        if (v := get("request_timeout")) is not None:
            try:
                values["request_timeout"] = float(v)
            except ValueError:
                raise StoreError(f"{ENV_VARS['request_timeout']}={v!r} is not a number of seconds") from None
        if (v := get("verify_certs")) is not None:
            if v.lower() not in ("1", "true", "yes", "0", "false", "no"):
                raise StoreError(f"{ENV_VARS['verify_certs']}={v!r}: use true or false")
            values["verify_certs"] = v.lower() in ("1", "true", "yes")
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if not self.urls:
            raise StoreError("no Elasticsearch URL configured (set DUPE_ES_URL)")
        for url in self.urls:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise StoreError(f"Elasticsearch URL {redact(url)!r} must look like http(s)://host:port")
        if self.api_key and (self.user or self.password):
            raise StoreError("set either DUPE_ES_API_KEY or DUPE_ES_USER/DUPE_ES_PASSWORD, not both")
        if bool(self.user) != bool(self.password):
            raise StoreError("DUPE_ES_USER and DUPE_ES_PASSWORD must be set together")
        if self.ca_certs and not os.path.isfile(self.ca_certs):
            raise StoreError(f"CA certificate file {self.ca_certs!r} (DUPE_ES_CA_CERTS) does not exist")
        if self.shards < 1 or self.replicas < 0:
            raise StoreError(f"shards must be >= 1 and replicas >= 0 (got {self.shards}, {self.replicas})")
        if not _INDEX_PREFIX_RE.match(self.index_prefix):
            raise StoreError(f"index prefix {self.index_prefix!r} (DUPE_ES_INDEX_PREFIX) must be lowercase "
                             f"letters, digits, '-', '_' or '.', starting with a letter or digit")

    def where(self) -> str:
        """The cluster address(es) for messages, without credentials."""
        return ", ".join(redact(u) for u in self.urls)


def _parse_int(var: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise StoreError(f"{var}={value!r} is not a whole number") from None


def redact(url: str) -> str:
    """``url`` without any ``user:password@`` part."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def make_client(config: ElasticConfig) -> Any:
    """An ``elasticsearch.Elasticsearch`` client for ``config`` (no request made yet)."""
    from elasticsearch import Elasticsearch

    kwargs: dict[str, Any] = {
        "request_timeout": config.request_timeout,
        "max_retries": config.max_retries,
        "retry_on_timeout": True,
        "retry_on_status": RETRY_STATUS,
        "verify_certs": config.verify_certs,
    }
    if config.api_key:
        kwargs["api_key"] = config.api_key
    elif config.user:
        kwargs["basic_auth"] = (config.user, config.password or "")
    if config.ca_certs:
        kwargs["ca_certs"] = config.ca_certs
    if not config.verify_certs:
        kwargs["ssl_show_warn"] = False
    # The transport logs every failed attempt with a traceback; our StoreError already says
    # what went wrong, so keep those out of users' consoles unless logging was configured.
    transport_log = logging.getLogger("elastic_transport")
    if transport_log.level == logging.NOTSET:
        transport_log.setLevel(logging.ERROR)
    try:
        return Elasticsearch(list(config.urls), **kwargs)
    except ValueError as e:     # malformed URL or option
        raise StoreError(f"cannot configure the Elasticsearch client for {config.where()}: {e}") from None


# -- the reasons of failed requests, one line each --------------------------------------------
def reason(e: Any) -> str:
    """A one-line reason from an ApiError."""
    body = getattr(e, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        root = (err.get("root_cause") or [err])[0]
        return f"{root.get('type', err.get('type'))}: {root.get('reason', err.get('reason'))}"
    return str(getattr(e, "message", None) or e)


def error_type(e: Any) -> str | None:
    body = getattr(e, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"].get("type")
    return None


def transport_reason(e: Any) -> str:
    errors = getattr(e, "errors", ()) or ()
    inner = errors[-1] if errors else None
    text = str(inner) if inner is not None else str(getattr(e, "message", "") or e)
    return text or type(e).__name__


def item_reason(info: Mapping[str, Any]) -> str:
    """A one-line reason for one failed bulk/mget item."""
    err = info.get("error")
    status = info.get("status")
    if isinstance(err, dict):
        text = f"{err.get('type')}: {err.get('reason')}"
        caused = err.get("caused_by")
        if isinstance(caused, dict) and caused.get("reason") and caused.get("reason") not in text:
            text += f" ({caused.get('reason')})"
    elif err:
        text = str(err)
    else:
        text = f"result {info.get('result')!r}"
    return f"HTTP {status} {text}" if status else text
