"""Property-based: any source location is a URL, a directory or a clear SourceError; credentials
never survive redaction."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gitops.errors import SourceError
from gitops.source import FetchOptions, SourceSpec, fetch
from gitops.source.urls import cache_key, is_remote, parse_remote, redact_text, redact_url, strip_userinfo

FAST = settings(max_examples=200, deadline=None)

URL_ALPHABET = "abcxyz019-._~:/?#[]@!$&'()*+,;=% \n\x00"
locations = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=URL_ALPHABET, max_size=80),
    st.builds(
        lambda scheme, user, host, path: f"{scheme}://{user}{host}/{path}",
        st.sampled_from(["https", "http", "ssh", "git+ssh", "git", "file", "ftp", "HTTPS", "x"]),
        st.one_of(st.just(""), st.text(alphabet=URL_ALPHABET, max_size=20).map(lambda u: u + "@")),
        st.text(alphabet=URL_ALPHABET, max_size=30),
        st.text(alphabet=URL_ALPHABET, max_size=30),
    ),
    st.builds(lambda user, host, path: f"{user}@{host}:{path}", st.text(max_size=10), st.text(max_size=20), st.text(max_size=20)),
)


@FAST
@given(locations)
def test_url_functions_take_any_text(location: str) -> None:
    remote = parse_remote(location)
    if remote is not None:
        assert remote.for_git and remote.display is not None
    assert isinstance(is_remote(location), bool)
    assert isinstance(strip_userinfo(location), str)
    key = cache_key(location)
    assert key and "/" not in key


@FAST
@given(
    st.sampled_from(["https", "ssh", "git+ssh", "file"]),
    st.text(alphabet="abcXYZ019-._~%", min_size=6, max_size=20),
    st.text(alphabet="hostxyz.-", min_size=1, max_size=20),
)
def test_a_token_in_a_url_never_survives_redaction(scheme: str, token: str, host: str) -> None:
    """Tokens as they are written in URLs (unreserved characters, percent-encoded otherwise)."""
    token = "T" + token  # upper case: never part of the host or the path
    url = f"{scheme}://user:{token}@{host}/org/repo.git"
    assert token not in redact_url(url)
    assert token not in redact_text(f"fatal: unable to access '{url}': refused")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.text(max_size=40))
@example(name="\n", path="")
@example(name="", path="\x00")
@example(name="x" * 300, path="")
@example(name="", path="y" * 300)
def test_any_local_location_or_path_gives_a_checkout_or_a_source_error(name: str, path: str) -> None:
    """Directories only (a URL would reach for the network): a name of any length or content."""
    with tempfile.TemporaryDirectory() as directory:
        location = str(Path(directory) / name)
        if is_remote(location):
            return
        options = FetchOptions(cache_dir=Path(directory) / "cache")
        try:
            checkout = fetch(SourceSpec(location=location, path=path), options)
        except SourceError as err:
            assert str(err) and "\n" not in str(err)
        else:
            assert checkout.directory.is_dir()
