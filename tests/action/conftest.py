from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.action.github_standin import GitHubStandIn, StandInServer

TOKEN = "ghs_standInToken0123456789abcdef"


@pytest.fixture
def github_api() -> Iterator[GitHubStandIn]:
    with StandInServer(TOKEN) as state:
        yield state
