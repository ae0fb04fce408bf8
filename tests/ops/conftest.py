"""`manage.py serve` (every Procfile process type) as a fixture."""

from __future__ import annotations

import pytest

from tests.conftest import server_env
from tests.servers import Serve


@pytest.fixture
def serve_with(transactional_db, tmp_path):
    """Start `manage.py serve` with extra environment; stopped at the end of the test."""
    started = []

    def start(**env: str) -> Serve:
        started.append(Serve(server_env(**env), tmp_path / f"serve-{len(started)}.log"))
        return started[-1]

    yield start
    for serve in started:
        serve.stop()
