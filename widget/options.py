"""The dialog's query string (what filepicker.js sends) as one validated, immutable object."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import QueryDict

from widget import origins

MAX_TEXT = 2048
STORE_FIELDS = ("location", "path", "container", "access")


class BadOptions(ValueError):
    """A query the dialog cannot open with; the message is shown to the end user."""


def _list(query: QueryDict, name: str) -> list[str]:
    return [part.strip() for part in query.get(name, "").split(",") if part.strip()][:50]


def _number(query: QueryDict, name: str) -> int | None:
    raw = query.get(name, "")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 15:
        raise BadOptions(f"{name} must be a whole number of bytes or files")
    return int(raw)


def _text(query: QueryDict, name: str) -> str:
    value = query.get(name, "")
    if len(value) > MAX_TEXT:
        raise BadOptions(f"{name} is too long")
    return value


@dataclass(frozen=True)
class DialogOptions:
    apikey: str
    origin: str
    id: str
    services: list[str] = field(default_factory=list)
    mimetypes: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    max_size: int | None = None
    max_files: int | None = None
    multiple: bool = False
    open_to: str = ""
    store: dict = field(default_factory=dict)
    policy: str = ""
    signature: str = ""
    url: str = ""  # save: the file to export
    filename: str = ""  # save: the suggested name

    @classmethod
    def parse(cls, query: QueryDict) -> DialogOptions:
        origin = origins.normalise(query.get("origin", ""))
        if origin is None:
            raise BadOptions("the page that opened the picker did not say where it runs (origin)")
        store = {name: _text(query, f"store_{name}") for name in STORE_FIELDS}
        return cls(
            apikey=_text(query, "key"),
            origin=origin,
            id=_text(query, "id")[:64],
            services=_list(query, "s"),
            mimetypes=_list(query, "m"),
            extensions=[ext.lower().lstrip(".") for ext in _list(query, "ext")],
            max_size=_number(query, "maxSize"),
            max_files=_number(query, "maxFiles"),
            multiple=query.get("multi") == "1",
            open_to=_text(query, "openTo").upper(),
            store={name: value for name, value in store.items() if value},
            policy=_text(query, "policy"),
            signature=_text(query, "signature"),
            url=_text(query, "url"),
            filename=_text(query, "filename"),
        )
