"""`manage.py serve` (every Procfile process type) as a fixture, logging to one file."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import server_env
from tests.servers import ROOT, archive, free_port, stop


class Serve:
    def __init__(self, env: dict[str, str], log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--bind", f"127.0.0.1:{self.port}"],
                cwd=ROOT,
                env={**os.environ, **server_env(OPENPICKER_BASE_URL=self.url, **env)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, condition, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, self.output()[-4000:]
            assert time.monotonic() < deadline, f"{what}:\n{self.output()[-4000:]}"
            time.sleep(0.2)

    def wait_up(self) -> None:
        def answers() -> bool:
            try:
                return requests.get(self.url + "/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        self.wait_for(answers, "web")
        self.wait_for(lambda: self.output().count(" ready.") >= 2, "both workers")

    def stop(self) -> None:
        if self.process.poll() is None:
            stop(self.process)
            archive(self.log_path, "serve")


@pytest.fixture
def serve_with(transactional_db, tmp_path):
    """Start `manage.py serve` with extra environment; stopped at the end of the test."""
    started = []

    def start(**env: str) -> Serve:
        started.append(Serve(env, tmp_path / f"serve-{len(started)}.log"))
        return started[-1]

    yield start
    for serve in started:
        serve.stop()
