"""Response headers are read as http.client reads them (gitops reads plain header blocks itself, for speed)."""

from __future__ import annotations

import http.client
import io

import pytest

from gitops.cluster import _parse_headers

BLOCKS = [
    b"Audit-Id: 2b7c\r\nCache-Control: no-cache, private\r\nContent-Type: application/json\r\n"
    b"X-Empty:\r\nX-Spaces:  two  \r\nContent-Length: 12\r\n\r\n{\"kind\": 1}\n",
    b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Tab:\tvalue\r\n\r\n",
    b"X-Latin: caf\xe9\r\n\r\n",
    b"Folded: a\r\n b\r\nX: 1\r\n\r\n",
    b"Bad Name: x\r\nX: 1\r\n\r\n",
    b"NoColon\r\nX: 1\r\n\r\n",
    b"X: a\nY: b\n\n",
    b"X: a\rb\r\n\r\n",
    b"X: 1\r\n",
    b"\r\n",
    b"",
]


@pytest.mark.parametrize("block", BLOCKS)
def test_headers_parse_as_http_client_parses_them(block: bytes) -> None:
    ours, theirs = io.BytesIO(block), io.BytesIO(block)
    got, expected = _parse_headers(ours), http.client.parse_headers(theirs)
    assert got.items() == expected.items()
    assert ours.read() == theirs.read()  # the body is left unread, as it was
    assert [type(d) for d in got.defects] == [type(d) for d in expected.defects]
    assert got.get_payload() == expected.get_payload()
    assert got.get("content-length") == expected.get("content-length")


def test_too_many_headers_are_refused_as_http_client_refuses_them() -> None:
    block = b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n"
    with pytest.raises(http.client.HTTPException):
        http.client.parse_headers(io.BytesIO(block))
    with pytest.raises(http.client.HTTPException):
        _parse_headers(io.BytesIO(block))
