"""What every image loader shares: the size limits and the one error type, with its kind
(``indexer.images`` decodes, ``indexer.fetch`` fetches; both raise ``ImageError``)."""
from __future__ import annotations

from typing import Literal, get_args

#: Largest encoded image accepted (bytes).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: Largest image decoded (width * height of what is decoded: a JPEG read at a reduced
#: scale counts at that scale). Kept below Pillow's own bomb threshold
#: (``Image.MAX_IMAGE_PIXELS``, ~89 Mpx, which bounds every header) so our limit is the one
#: that fires; 50 Mpx still admits 48 Mpx phone photos decoded in full.
DEFAULT_MAX_PIXELS = 50_000_000

#: Why an image could not be loaded, for callers that answer each differently without
#: reading messages (the web's HTTP statuses: ``web.photos``, ``web.page_url``):
#: ``refused``: the reference may not be loaded (a URL's scheme, host or credentials, a
#: non-public address, a path outside the catalog folder); ``unreachable``: its bytes could
#: not be got (name resolution, connection, deadline, HTTP status, redirects, a missing
#: file); ``wrong_type``: the server sent another content type; ``too_large``: too many
#: bytes; ``too_many_pixels``: too many pixels (a decompression bomb); ``unsupported``: not
#: an image format we read; ``broken``: the bytes are no readable image (truncated, corrupt).
ImageErrorKind = Literal["refused", "unreachable", "wrong_type", "too_large", "too_many_pixels", "unsupported",
                         "broken"]
IMAGE_ERROR_KINDS: tuple[ImageErrorKind, ...] = get_args(ImageErrorKind)


class ImageError(ValueError):
    """An image could not be loaded safely; the message says why (to a user), ``kind``
    what went wrong (to code)."""

    def __init__(self, message: str, kind: ImageErrorKind = "broken") -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions pickle their ``args`` only (the message): keep the kind across processes.
        return type(self), (str(self), self.kind)
