"""Errors carry their kind, and the web answers each kind from one table (issue K): every
kind has an answer, each kind the answer the API promises, and the raisers give the
kinds their messages describe -- so no status depends on a message's wording."""
from __future__ import annotations

import dataclasses
import io
import pickle

import pytest
from PIL import Image

from indexer.images import (
    IMAGE_ERROR_KINDS,
    FetchError,
    ImageError,
    decode_image,
    fetch_url,
)
from search.requests import QUERY_FIELDS, QueryError
from web import page_url, photos, service
from web.params import SearchParams

#: What the API promises for each kind (docs and clients rely on these codes).
PHOTO = {"refused": (400, "image_url_refused"), "unreachable": (422, "image_fetch_failed"),
         "wrong_type": (422, "image_fetch_failed"), "too_large": (413, "image_too_large"),
         "too_many_pixels": (413, "too_many_pixels"), "unsupported": (415, "unsupported_image"),
         "broken": (422, "corrupt_image")}
PAGE = {"refused": (400, "page_url_refused"), "unreachable": (422, "page_fetch_failed"),
        "wrong_type": (415, "unsupported_page"), "too_large": (413, "page_too_large"),
        "too_many_pixels": (422, "page_fetch_failed"), "unsupported": (422, "page_fetch_failed"),
        "broken": (422, "page_fetch_failed")}


@pytest.mark.parametrize("table", [photos.IMAGE_ANSWERS, page_url.PAGE_ANSWERS], ids=["photo", "page"])
def test_every_image_error_kind_has_a_4xx_answer(table):
    assert set(table) == set(IMAGE_ERROR_KINDS)
    assert all(400 <= status < 500 and code for status, code in table.values())


@pytest.mark.parametrize("kind", IMAGE_ERROR_KINDS)
def test_a_photo_error_is_answered_by_its_kind(kind):
    err = photos.image_error(ImageError("some words", kind), "photo")
    assert (err.status, err.code, err.message, err.field) == (*PHOTO[kind], "some words", "photo")


@pytest.mark.parametrize("kind", IMAGE_ERROR_KINDS)
def test_an_image_url_that_gives_no_usable_image_is_a_failed_fetch(kind):
    err = photos.image_error(ImageError("some words", kind), "image_url")
    want = (422, "image_fetch_failed") if PHOTO[kind][1] == "corrupt_image" else PHOTO[kind]
    assert (err.status, err.code, err.field) == (*want, "image_url")


@pytest.mark.parametrize("kind", IMAGE_ERROR_KINDS)
def test_a_page_error_is_answered_by_its_kind(kind):
    err = page_url.page_error(FetchError("some words", kind))
    hint = " (expected text/html)" if kind == "wrong_type" else ""
    assert (err.status, err.code, err.message, err.field) == (*PAGE[kind], f"page_url: some words{hint}", "page_url")


def test_every_query_field_names_a_search_parameter():
    assert set(service.QUERY_PARAMS) == set(QUERY_FIELDS)
    assert service.QUERY_PARAMS == {"text": "q", "crop": "crop", "object": "object"}
    params = {f.name for f in dataclasses.fields(SearchParams)}
    assert set(service.QUERY_PARAMS.values()) <= params


# -- the kinds where they are raised ---------------------------------------------------

def _never_resolve(host: str, port: int) -> list[str]:
    raise AssertionError("a refused URL is not resolved")


@pytest.mark.parametrize("url", ["ftp://example.com/a.jpg", "http://user:pw@example.com/a.jpg", "http:///a.jpg",
                                 "http://example.com:99999/a.jpg", "example.com/a.jpg"])
def test_urls_that_may_not_be_fetched_are_refused(url):
    with pytest.raises(FetchError) as e:
        fetch_url(url, resolver=_never_resolve)
    assert e.value.kind == "refused"


def test_a_private_address_is_refused_and_no_name_is_unreachable():
    with pytest.raises(FetchError) as e:
        fetch_url("http://intranet.example/a.jpg", resolver=lambda host, port: ["10.0.0.7"])
    assert e.value.kind == "refused" and "10.0.0.7" not in e.value.public
    with pytest.raises(FetchError) as e:
        fetch_url("http://nowhere.example/a.jpg", resolver=lambda host, port: [])
    assert e.value.kind == "unreachable"


def _png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 30, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(("data", "limits", "kind"), [
    (b"this is no image at all", {}, "unsupported"),
    (b"", {}, "broken"),
    (_png((64, 64))[:60], {}, "broken"),
    (_png((64, 64)), {"max_bytes": 10}, "too_large"),
    (_png((200, 200)), {"max_pixels": 10_000}, "too_many_pixels"),
], ids=["not an image", "empty", "truncated", "too many bytes", "too many pixels"])
def test_decoding_gives_the_kind_of_failure(data, limits, kind):
    with pytest.raises(ImageError) as e:
        decode_image(data, **limits)
    assert e.value.kind == kind


def test_the_public_fetcher_keeps_the_kind():
    def fetch(url: str, **kw: object) -> bytes:
        raise FetchError("refusing to fetch from non-public address 10.0.0.7", "refused", "refusing to fetch")
    with pytest.raises(FetchError) as e:
        service.public_fetcher(fetch)("http://intranet.example/")
    assert (str(e.value), e.value.kind) == ("refusing to fetch", "refused")


def test_kinds_survive_pickling():
    """Errors cross process boundaries (the indexer's workers) with their kind."""
    fetch = pickle.loads(pickle.dumps(FetchError("full story", "refused", "public story")))
    image = pickle.loads(pickle.dumps(ImageError("too big", "too_large")))
    query = pickle.loads(pickle.dumps(QueryError("crop outside", "crop")))
    assert (type(fetch), str(fetch), fetch.kind, fetch.public) == (FetchError, "full story", "refused", "public story")
    assert (type(image), str(image), image.kind) == (ImageError, "too big", "too_large")
    assert (type(query), str(query), query.field) == (QueryError, "crop outside", "crop")
