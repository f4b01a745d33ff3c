"""`fake_github`: a fresh fake GitHub API (tests/github/fake_api.py) for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.github.fake_api import FakeGitHub


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    api = FakeGitHub()
    try:
        yield api
    finally:
        api.close()
