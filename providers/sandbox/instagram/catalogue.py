"""The fake Instagram's state: its registered app, one professional account's media (images,
carousels with children, videos), tokens and signed media URLs that expire. No HTTP here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from providers.sandbox.models import InstagramThrottle, InstagramToken

USER = {"user_id": "17841400000000001", "id": "26000000000000001", "username": "sandboxgram"}
CODE_LIFETIME = timedelta(hours=1)
SHORT_LIFETIME = timedelta(hours=1)
LONG_LIFETIME = timedelta(days=60)
REFRESH_MIN_AGE = timedelta(hours=24)
MEDIA_COUNT = 26
FIRST_ID = 17900000000000000
_SIGNING = b"sandbox-instagram-cdn"  # the fake CDN's own signing key


def app_keys() -> dict[str, str]:
    """The fake Instagram's registered apps: the instance's configured default app."""
    return {settings.OPENPICKER_INSTAGRAM_CLIENT_ID: settings.OPENPICKER_INSTAGRAM_CLIENT_SECRET}


def media_ttl() -> int:
    """Seconds a media_url works after it was handed out (configurable for tests)."""
    return int(getattr(settings, "OPENPICKER_SANDBOX_INSTAGRAM_MEDIA_TTL", 3600))


@dataclass
class Media:
    id: str
    media_type: str  # IMAGE, VIDEO, CAROUSEL_ALBUM
    timestamp: str
    caption: str = ""
    children: list[Media] = field(default_factory=list)
    parent: str | None = None


@cache
def media() -> tuple[list[Media], dict[str, Media]]:
    """Newest first: every 6th item (from the 3rd) a carousel of three images, every 6th (from
    the 5th) a video, the rest images."""
    items, by_id = [], {}
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    for index in range(MEDIA_COUNT):
        when = (start - timedelta(hours=index)).strftime("%Y-%m-%dT%H:%M:%S+0000")
        number = str(FIRST_ID + index * 10)
        kind = {2: "CAROUSEL_ALBUM", 4: "VIDEO"}.get(index % 6, "IMAGE")
        item = Media(number, kind, when, caption=f"Sandbox post {index + 1}")
        if kind == "CAROUSEL_ALBUM":
            item.children = [
                Media(str(int(number) + k), "IMAGE", when, parent=number) for k in (1, 2, 3)
            ]
            by_id.update({child.id: child for child in item.children})
        items.append(item)
        by_id[number] = item
    return items, by_id


def find(media_id: str) -> Media | None:
    return media()[1].get(media_id)


def page(after: str | None, limit: int) -> tuple[list[Media], str | None, str | None]:
    """(items, before cursor, after cursor or None on the last page)."""
    offset = decode_cursor(after) if after else 0
    items = media()[0][offset : offset + limit]
    end = offset + len(items)
    more = end < MEDIA_COUNT
    return items, encode_cursor(offset), encode_cursor(end) if more else None


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, offset = raw.partition(":")
        if prefix != "sandbox":
            raise ValueError
        return max(0, int(offset))
    except ValueError:
        raise ValueError("invalid cursor") from None


# Tokens
def issue(kind: str, client_id: str, lifetime: timedelta, **fields) -> InstagramToken:
    now = timezone.now()
    prefix = {"code": "AQ", "short": "IGQ", "long": "IGAA"}[kind]
    return InstagramToken.objects.create(
        value=prefix + secrets.token_urlsafe(32),
        kind=kind,
        client_id=client_id,
        issued=now,
        expires=now + lifetime,
        **fields,
    )


def access_token(value: str) -> InstagramToken | None:
    return InstagramToken.objects.filter(
        value=value, kind__in=(InstagramToken.SHORT, InstagramToken.LONG)
    ).first()


def revoke_all() -> int:
    """The user removed the app (Settings → Apps and websites): every token stops working."""
    return InstagramToken.objects.filter(revoked=False).update(revoked=True)


# Rate limits: Graph's codes and messages, as Instagram sends them (is_transient as seen on each)
RATE_LIMITS = {
    4: ("(#4) Application request limit reached", True),
    17: ("(#17) User request limit reached", True),
    32: ("(#32) Page request limit reached", False),
    613: ("(#613) Calls to this api have exceeded the rate limit.", False),
}


def throttle(code: int, times: int, after: int = 0) -> InstagramThrottle:
    """The next `times` Graph calls, once `after` more passed, refused with rate limit `code`."""
    if code not in RATE_LIMITS:
        raise ValueError(f"{code} is not one of Graph's rate-limit codes")
    return InstagramThrottle.objects.create(code=code, times=times, after=after)


def throttled() -> int | None:
    """The rate-limit code this Graph call is refused with, if a throttle applies (spent here)."""
    with transaction.atomic():
        row = (
            InstagramThrottle.objects.select_for_update()
            .filter(refused__lt=models.F("times"))
            .order_by("pk")
            .first()
        )
        if row is None:
            return None
        if row.after > 0:
            InstagramThrottle.objects.filter(pk=row.pk).update(after=models.F("after") - 1)
            return None
        InstagramThrottle.objects.filter(pk=row.pk).update(refused=models.F("refused") + 1)
        return row.code


# Signed, expiring CDN URLs (Instagram's `oe` is the expiry in hex)
def signature(name: str, expiry: int) -> str:
    return hmac.new(_SIGNING, f"{name}:{expiry}".encode(), hashlib.sha256).hexdigest()[:32]


def signed_path(name: str, now: float | None = None) -> str:
    expiry = int((time.time() if now is None else now) + media_ttl())
    return f"cdn/{name}?oe={expiry:x}&_nc_sig={signature(name, expiry)}"


def valid_signature(name: str, oe: str, sig: str, now: float | None = None) -> bool:
    try:
        expiry = int(oe, 16)
    except ValueError:
        return False
    if not hmac.compare_digest(signature(name, expiry), sig or ""):
        return False
    return (time.time() if now is None else now) <= expiry


def folder() -> Path:
    path = Path(settings.DATA_DIR) / "sandbox" / "instagram"
    path.mkdir(parents=True, exist_ok=True)
    return path


def image_bytes(media_id: str) -> bytes:
    """A 1080x1080 JPEG drawn from the id, once."""
    path = folder() / f"{media_id}.jpg"
    if not path.exists():
        seed = int(media_id) % 997
        image = Image.new("RGB", (1080, 1080), ((seed * 37) % 256, (seed * 53) % 256, 180))
        draw = ImageDraw.Draw(image)
        draw.ellipse((300, 300, 780, 780), fill=(255, 220 - seed % 60, 120))
        draw.text((40, 40), media_id, fill=(255, 255, 255))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(out.getvalue())
        tmp.replace(path)
    return path.read_bytes()


def video_bytes(media_id: str) -> bytes:
    """A stand-in mp4 (an ftyp box, then filler): enough for a type sniffer."""
    return b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + media_id.encode() * 64
