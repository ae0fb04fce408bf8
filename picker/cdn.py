"""The CDN path grammar: `[APIKEY/]task/task/.../SOURCE`, task = `name` or `name=k:v,k:v`.

The core understands `security` and `cache` itself; other tasks are handed to processors that
other apps register (conversions registers the image tasks), so the core imports none of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from picker.errors import BadRequest
from picker.handles import is_handle

CORE_TASKS = {"security", "cache"}
_NAME = re.compile(r"^[a-z_]+$")

# name -> callable(request, chain) returning an HttpResponse; filled in by other apps' ready().
processors: dict[str, Callable] = {}


@dataclass
class Task:
    name: str
    params: dict = field(default_factory=dict)
    # The task as written in the URL (processors bound what they keep of it).
    text: str = ""


@dataclass
class Chain:
    apikey: str | None
    tasks: list[Task]
    source: str

    def task(self, name: str) -> Task | None:
        return next((task for task in self.tasks if task.name == name), None)

    @property
    def processing(self) -> list[Task]:
        return [task for task in self.tasks if task.name not in CORE_TASKS]

    @property
    def is_handle(self) -> bool:
        return is_handle(self.source)


def split_values(text: str) -> list[str]:
    """Split on commas outside brackets and double quotes."""
    parts, depth, quoted, current = [], 0, False, []
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "[":
            depth += 1
        elif not quoted and char == "]":
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted or depth:
        raise BadRequest(f"unbalanced quotes or brackets in {text!r}", code="invalid_task")
    parts.append("".join(current))
    return parts


def parse_value(raw: str):
    """A scalar string, a "quoted" string, or a [list] of those."""
    if raw.startswith("[") and raw.endswith("]"):
        inner = raw[1:-1]
        return [parse_value(item.strip()) for item in split_values(inner)] if inner else []
    if len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
        return raw[1:-1]
    return raw


def parse_task(segment: str) -> Task:
    name, has_params, rest = segment.partition("=")
    if not _NAME.match(name):
        raise BadRequest(f"{segment[:60]!r} is not a task", code="invalid_task")
    params: dict = {}
    if has_params and name == "cache" and ":" not in rest:
        params["value"] = rest
    elif has_params:
        for item in split_values(rest):
            key, colon, value = item.partition(":")
            if not colon or not key:
                raise BadRequest(f"task {name!r}: {item!r} is not key:value", code="invalid_task")
            params[key] = parse_value(value)
    return Task(name, params, segment)


def parse(path: str) -> Chain:
    """Parse the part of a CDN URL after `/cdn/`."""
    segments = split_path(path)
    if not segments or segments == [""]:
        raise BadRequest("no source given", code="invalid_source")
    source_at = _source_index(segments)
    source = "/".join(segments[source_at:])
    head = segments[:source_at]
    apikey = None
    if head and "=" not in head[0] and head[0] not in CORE_TASKS and head[0] not in processors:
        apikey = head.pop(0)
    written = _join_security(head)
    limit = settings.OPENPICKER_CDN_MAX_TASKS
    if len(written) > limit:
        raise BadRequest(
            f"the chain has {len(written)} tasks, more than the {limit} allowed "
            "(OPENPICKER_CDN_MAX_TASKS)",
            code="too_many_tasks",
        )
    tasks = [parse_task(segment) for segment in written]
    return Chain(apikey, tasks, source)


def split_path(path: str) -> list[str]:
    """Split on '/' outside double quotes (a quoted value such as path:"a/b/" keeps its '/')."""
    segments, current, quoted = [], [], False
    for char in path:
        if char == '"':
            quoted = not quoted
        if char == "/" and not quoted:
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
    segments.append("".join(current))
    return segments


def _source_index(segments: list[str]) -> int:
    for index, segment in enumerate(segments):
        if segment.startswith(("http:", "https:", "src:", "b64:")):
            return index
    return len(segments) - 1


def _join_security(segments: list[str]) -> list[str]:
    """Rejoin a security task whose standard-base64 policy was split at '/' characters."""
    out: list[str] = []
    for segment in segments:
        if out and out[-1].startswith("security=") and not _has_signature(out[-1]):
            out[-1] += "/" + segment
        else:
            out.append(segment)
    return out


def _has_signature(segment: str) -> bool:
    return bool(re.search(r"[=,](s|signature):", segment))


def security_params(chain: Chain) -> tuple[str | None, str | None]:
    """(policy, signature) from `security=p:..,s:..` or `security=policy:..,signature:..`."""
    task = chain.task("security")
    if task is None:
        return None, None
    policy = task.params.get("p") or task.params.get("policy")
    signature = task.params.get("s") or task.params.get("signature")
    if not isinstance(policy, str) or not isinstance(signature, str):
        raise BadRequest("security needs a policy and a signature", code="invalid_task")
    return policy, signature
