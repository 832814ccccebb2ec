"""Media type from content, never from the file name.

Names and extensions are what a sender chose; the bytes are what arrived. We
ask libmagic (the engine of file(1), which forensic tools rely on) about the
first bytes of the item. One libmagic handle per thread: handles are not safe
to share.
"""

from __future__ import annotations

import threading

import magic

_local = threading.local()
UNKNOWN = "application/octet-stream"


def media_type(head: bytes) -> str:
    """The MIME type libmagic reads in ``head`` (the first few KiB of an item)."""
    if not head:
        return "application/x-empty"
    handle = getattr(_local, "magic", None)
    if handle is None:
        handle = _local.magic = magic.Magic(mime=True)
    try:
        return str(handle.from_buffer(head)) or UNKNOWN
    except magic.MagicException:
        return UNKNOWN
