"""The services the dialog lists, filtered by the integrator's `services` and `mimetype` options.

Names are the v2 library's (`COMPUTER`, `URL`, `FLICKR`, `INSTAGRAM`); the clouds come from the
providers' registry, so a new provider appears here without touching the widget.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from providers import base

# What a cloud offers when its provider says nothing: the seeds' "only image files are selectable".
DEFAULT_CLOUD_MIMETYPES = ("image/*",)


@dataclass(frozen=True)
class Service:
    name: str  # FLICKR
    label: str  # Flickr
    kind: str  # computer | url | cloud
    cloud: str = ""  # the /cloud/* name (flickr)
    mimetypes: tuple[str, ...] = ("*/*",)
    exports: bool = False

    @property
    def testid(self) -> str:
        return f"service-{self.name.lower()}"

    def as_json(self) -> dict:
        return {**asdict(self), "testid": self.testid}


def all_services() -> list[Service]:
    local = [Service("COMPUTER", "My Computer", "computer"), Service("URL", "Link (URL)", "url")]
    clouds = [
        Service(
            name.upper(),
            provider.label,
            "cloud",
            cloud=name,
            mimetypes=tuple(getattr(provider, "mimetypes", DEFAULT_CLOUD_MIMETYPES)),
            exports=bool(getattr(provider, "exports", True)),
        )
        for name, provider in sorted(base.REGISTRY.items())
    ]
    return local + clouds


def _matches(accepted: str, wanted: str) -> bool:
    """Whether two mimetype patterns (`image/*`, `image/png`, `*/*`) can name the same file."""
    a_type, _, a_sub = accepted.lower().partition("/")
    w_type, _, w_sub = wanted.lower().partition("/")
    return (a_type in ("*", w_type) or w_type == "*") and (
        a_sub in ("*", "", w_sub) or w_sub in ("*", "")
    )


def accepts(service: Service, mimetypes: list[str]) -> bool:
    return not mimetypes or any(_matches(a, w) for a in service.mimetypes for w in mimetypes)


def choose(names: list[str], mimetypes: list[str], *, exporting: bool) -> list[Service]:
    """The services to show, in the integrator's order when it named them."""
    available = {service.name: service for service in all_services()}
    wanted = [name.upper() for name in names if name] or list(available)
    chosen = []
    for name in wanted:
        service = available.get(name)
        if service is None or service in chosen or not accepts(service, mimetypes):
            continue
        if exporting and not service.exports:
            continue
        chosen.append(service)
    return chosen
