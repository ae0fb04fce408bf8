"""A pytest plugin: every log line the suite's processes wrote (web servers, Celery workers,
`serve` with its beat), scanned at the end of the run for the credentials the suite used.

`tests/servers.py` and the `serve` fixtures hand each process's log to `servers.archive()`
before they delete it. The run remembers every app secret, webhook signing secret and
provider token that is saved (post_save), and also looks for anything shaped like a policy
(base64 of a JSON object, `eyJ…`), a signature (64 hex digits) or an HTTP Basic/Bearer
credential. One finding fails the run, naming the file, the line and what was found.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.servers import LOG_ARCHIVE_ENV as ENV

_secrets: set[str] = set()

SHAPES = {
    "a policy (base64 JSON)": re.compile(r"eyJ[A-Za-z0-9_+/-]{16,}"),
    "a signature (64 hex digits)": re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{64}(?![0-9a-fA-F])"),
    "an Authorization credential": re.compile(
        r"\b(Basic|Bearer) (?!\[redacted\])[A-Za-z0-9+/=._~-]{8,}"
    ),
}


def remember(value: str | None) -> None:
    if value and len(value) >= 8:
        _secrets.add(value)


def _on_save(sender, instance, **kwargs) -> None:
    for field in ("secret", "token", "token_secret"):
        remember(getattr(instance, field, None))


def pytest_configure(config):
    if not os.environ.get(ENV):
        os.environ[ENV] = tempfile.mkdtemp(prefix="openpicker-logs-")
    config._openpicker_log_archive = os.environ[ENV]


@pytest.fixture(scope="session", autouse=True)
def _remember_credentials():
    from django.db.models.signals import post_save

    from picker.models import App
    from providers.models import ProviderConnection
    from webhooks.models import WebhookEndpoint

    for model in (App, WebhookEndpoint, ProviderConnection):
        post_save.connect(_on_save, sender=model, weak=False, dispatch_uid=f"logscan.{model}")
    yield


def scan(folder: Path, secrets: set[str]) -> tuple[int, list[str]]:
    """(lines read, findings) over every archived log."""
    lines, findings = 0, []
    for path in sorted(folder.glob("*.log")):
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            lines += 1
            found = [what for what, shape in SHAPES.items() if shape.search(line)]
            found += ["a secret the suite used" for secret in secrets if secret in line]
            if found:
                findings.append(f"{path.name}:{number}: {', '.join(found)}: {line[:300]}")
    return lines, findings


def pytest_sessionfinish(session, exitstatus):
    folder = Path(getattr(session.config, "_openpicker_log_archive", "") or "")
    if not folder.is_dir():
        return
    lines, findings = scan(folder, _secrets)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        logs = len(list(folder.glob("*.log")))
        reporter.write_sep(
            "-",
            f"log scan: {lines} lines of {logs} process logs, {len(_secrets)} secrets known;"
            f" {len(findings)} found",
        )
        for finding in findings[:50]:
            reporter.write_line(finding)
    if findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        shutil.rmtree(folder, ignore_errors=True)
