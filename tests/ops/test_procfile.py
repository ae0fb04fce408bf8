"""The Procfile: every process type declared once, and what `serve` makes of it."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from openpicker.management.commands.serve import commands, read_procfile


def test_the_procfile_declares_web_two_workers_and_beat():
    types = read_procfile()
    assert list(types) == ["web", "worker", "webhooks", "beat"]
    assert "--queues celery,conversions " in types["worker"]
    assert "--queues webhooks " in types["webhooks"]  # a slow receiver delays no conversion
    assert "celery -A openpicker beat" in types["beat"]
    assert "--logger-class openpicker.logs.GunicornLogger" in types["web"]
    assert "--worker-class openpicker.workers.BalancedThreadWorker " in types["web"]
    assert "--access-logfile" not in types["web"]  # the JSON request lines replace it


def test_serve_folds_beat_into_the_webhooks_worker_unless_asked_not_to():
    types = read_procfile()
    folded = commands(types)
    assert list(folded) == ["web", "worker", "webhooks"]
    assert folded["webhooks"] == ["/bin/sh", "-c", types["webhooks"] + " --beat-thread"]
    separate = commands(types, beat_thread=False)
    assert separate["beat"] == ["/bin/sh", "-c", types["beat"]]
    assert commands(types, ["web", "beat"]) == {
        "web": ["/bin/sh", "-c", types["web"]],
        "beat": ["/bin/sh", "-c", types["beat"]],
    }
    with pytest.raises(CommandError, match="not in the Procfile: nope"):
        commands(types, ["nope"])


def test_a_malformed_procfile_is_refused(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("# comment\n\nweb: run\nno colon here\n")
    with pytest.raises(CommandError, match="Procfile:4: expected 'name: command'"):
        read_procfile(procfile)
