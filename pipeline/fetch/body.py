"""Read a response body within a byte cap, decompressing it ourselves so a bomb stays bounded.

httpx decodes gzip one network chunk at a time without a limit, so 64 KiB of a gzip bomb
can become 60 MB before any size check sees it. Reading the raw stream and asking zlib for
at most the remaining room keeps memory at the cap plus one chunk, whatever the ratio.
"""

from __future__ import annotations

import zlib

import httpx

# The encodings we ask for (Accept-Encoding) and can decode with a bound.
ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    """The decoded body passed the cap; the message says which cap."""


class UnsupportedEncoding(Exception):
    pass


class _Inflater:
    def __init__(self, content_encoding: str) -> None:
        encoding = content_encoding.strip().lower()
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            # 47 = 32 + 15: accept a gzip or a zlib header, with the largest window.
            self._zlib = zlib.decompressobj(47)
        else:
            raise UnsupportedEncoding(f"unsupported content encoding {content_encoding!r}")

    def pieces(self, chunk: bytes, room: int):
        """Decoded bytes of `chunk`, never more than `room + 1` at a time."""
        if self._zlib is None:
            yield chunk
            return
        data = chunk
        while data:
            try:
                out = self._zlib.decompress(data, max(1, room + 1))
            except zlib.error as error:
                raise UnsupportedEncoding(f"corrupt compressed body ({error})") from error
            room -= len(out)
            yield out
            if room < 0:
                return
            data = self._zlib.unconsumed_tail


async def read_capped(response: httpx.Response, cap: int, truncate: bool = False) -> tuple[bytes, bool]:
    """The decoded body, at most `cap` bytes; (body, truncated).

    Over the cap: raise `BodyTooLarge`, or with `truncate` return the first `cap` bytes (robots.txt
    is read that way: RFC 9309 lets a crawler parse only the start of a large file).
    """
    declared = response.headers.get("content-length")
    encoding = response.headers.get("content-encoding", "")
    if not truncate and declared and declared.isdigit() and not encoding and int(declared) > cap:
        raise BodyTooLarge(f"body of {int(declared):,} bytes is over the {cap:,}-byte cap")
    inflater = _Inflater(encoding)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        for piece in inflater.pieces(chunk, cap - size):
            size += len(piece)
            chunks.append(piece)
            if size > cap:
                if truncate:
                    return b"".join(chunks)[:cap], True
                raise BodyTooLarge(f"body is over the {cap:,}-byte cap")
    return b"".join(chunks), False
