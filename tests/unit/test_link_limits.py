"""Share links are bounded before and during decoding: a zlib bomb cannot fill the server's memory."""

from __future__ import annotations

import base64
import functools
import tracemalloc
import zlib

import pytest

from engine.core.errors import ConfigError
from engine.experiments.share import MAX_LINK_CHARS, MAX_LINK_JSON_BYTES, from_link_param, inflate_bounded

_CHUNK = 1 << 20  # 1 MiB of zeros per deflate block
_PEAK_LIMIT = 50_000_000


@functools.cache
def _zero_bomb(n_chunks: int) -> bytes:
    """A valid zlib stream of `n_chunks` MiB of zeros, built in milliseconds.

    Each chunk is compressed after a full flush, so every block after the first is the same bytes
    and can be repeated; the Adler-32 of n zero bytes is ``(n mod 65521) << 16 | 1``.
    """
    comp = zlib.compressobj(9)
    first = comp.compress(bytes(_CHUNK)) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(bytes(_CHUNK)) + comp.flush(zlib.Z_FULL_FLUSH)
    assert comp.compress(bytes(_CHUNK)) + comp.flush(zlib.Z_FULL_FLUSH) == block
    final = comp.flush(zlib.Z_FINISH)[:-4]
    n = n_chunks * _CHUNK
    adler = (((n % 65521) << 16) | 1).to_bytes(4, "big")
    return first + block * (n_chunks - 1) + final + adler


def _param(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def test_bomb_helper_is_a_valid_stream() -> None:
    small = _zero_bomb(3)
    assert zlib.decompress(small) == bytes(3 * _CHUNK)


def test_gigabyte_bomb_link_is_refused_in_bounded_memory() -> None:
    param = _param(_zero_bomb(1024))  # 1 GiB of zeros, about 1.4 M characters
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="too long"):
            from_link_param(param)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < _PEAK_LIMIT


def test_decompression_itself_is_bounded() -> None:
    """Even a stream that passed the length check never inflates past the limit."""
    bomb = _zero_bomb(1024)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="too large"):
            inflate_bounded(bomb, MAX_LINK_JSON_BYTES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < _PEAK_LIMIT


def test_bomb_inside_the_length_limit_is_refused() -> None:
    # 8 MiB of zeros fit in a link of legal length; the JSON limit refuses them
    data = _zero_bomb(8)
    assert len(_param(data)) <= 2 * MAX_LINK_CHARS
    with pytest.raises(ConfigError, match="too large"):
        from_link_param(_param(data))


def test_inflate_bounded_keeps_exact_limit_and_refuses_truncated() -> None:
    raw = b"x" * 1000
    assert inflate_bounded(zlib.compress(raw), 1000) == raw
    with pytest.raises(ConfigError, match="too large"):
        inflate_bounded(zlib.compress(raw), 999)
    with pytest.raises(ConfigError, match="damaged"):
        inflate_bounded(zlib.compress(raw)[:-6], 10_000)


def test_over_long_link_is_refused_before_decoding() -> None:
    with pytest.raises(ConfigError, match="too long"):
        from_link_param("A" * (2 * MAX_LINK_CHARS + 1))
