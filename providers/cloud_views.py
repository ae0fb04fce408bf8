"""The cloud API for the picker (/cloud/..., JSON POST, Filestack's shapes): parse, call, answer.

Every call names the app by `apikey`, carries the end user's session `token` (a new one is made
and answered back when absent) and, when the app requires security, a policy allowing `pick`.
"""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from picker import access, files, params
from picker.access import Credentials
from picker.errors import BadRequest
from picker.models import App
from picker.policies import Policy
from picker.schema import BLOB, errors
from providers import base, cloud, transfers
from providers.errors import ProviderTokenRejected


class _Credentials(serializers.Serializer):
    """What every cloud call carries besides its clouds."""

    apikey = serializers.CharField(max_length=64, required=False)
    token = serializers.CharField(max_length=256, required=False, allow_blank=True)
    flow = serializers.CharField(max_length=16, required=False)
    policy = serializers.CharField(max_length=8192, required=False)
    signature = serializers.CharField(max_length=256, required=False)


class FolderRequest(serializers.Serializer):
    path = serializers.CharField(max_length=1024, required=False, allow_blank=True, default="/")
    next = serializers.RegexField(
        r"^[1-9][0-9]{0,5}$", required=False, allow_null=True, allow_blank=True
    )


class FolderListRequest(_Credentials):
    clouds = serializers.DictField(child=FolderRequest(), allow_empty=False)


class StoreOptionsRequest(serializers.Serializer):
    location = serializers.CharField(max_length=64, required=False)
    path = serializers.CharField(max_length=2048, required=False, allow_blank=True)
    container = serializers.CharField(max_length=255, required=False, allow_blank=True)
    access = serializers.CharField(max_length=16, required=False)
    filename = serializers.CharField(max_length=1024, required=False, allow_blank=True)
    region = serializers.CharField(max_length=64, required=False)


class StoreItemRequest(serializers.Serializer):
    path = serializers.CharField(max_length=1024)
    store = StoreOptionsRequest(required=False, allow_null=True)


class StoreRequest(_Credentials):
    clouds = serializers.DictField(child=StoreItemRequest(), allow_empty=False)


class ExportItemRequest(serializers.Serializer):
    filename = serializers.CharField(max_length=255, required=False, allow_blank=True)
    title = serializers.CharField(max_length=255, required=False, allow_blank=True)
    description = serializers.CharField(max_length=65536, required=False, allow_blank=True)
    tags = serializers.CharField(max_length=4096, required=False, allow_blank=True)


class ExportRequest(_Credentials):
    url = serializers.CharField(max_length=4096, required=False)
    handle = serializers.CharField(max_length=64, required=False)
    clouds = serializers.DictField(child=ExportItemRequest(), allow_empty=False)


class LogoutRequest(_Credentials):
    clouds = serializers.DictField(child=serializers.DictField(), required=False)


ITEM = inline_serializer(
    "CloudItem",
    {
        "name": serializers.CharField(),
        "path": serializers.CharField(),
        "mimetype": serializers.CharField(),
        "thumbnail": serializers.CharField(allow_null=True),
        "size": serializers.IntegerField(allow_null=True),
        "folder": serializers.BooleanField(),
        "link": serializers.URLField(required=False),
    },
)
FOLDER = inline_serializer(
    "CloudFolderPage",
    {
        "contents": serializers.ListField(child=ITEM),
        "next": serializers.CharField(allow_null=True),
        "auth": inline_serializer(
            "CloudAuth", {"redirect_url": serializers.URLField()}, required=False
        ),
    },
)
# The providers an answer may name (each present when the call named it), for the schema.
PROVIDERS = ("flickr", "instagram")
EXPORTERS = ("flickr",)  # Instagram takes no exports (a 400 export_not_supported)


def per_provider(name: str, shape, providers=PROVIDERS):
    """An answer's shape: the session token and, per provider the call named, `shape`."""
    fields = {"token": serializers.CharField()}
    for provider in providers:
        fields[provider] = type(shape)(required=False)
    return inline_serializer(name, fields)


def request_examples(clouds: dict, **body) -> list[OpenApiExample]:
    """Request bodies naming each provider (the instance's API key and session token elided)."""
    return [
        OpenApiExample(
            provider.capitalize(),
            value={"apikey": "APIKEY", "token": "SESSION", **body, "clouds": {provider: item}},
            request_only=True,
        )
        for provider, item in clouds.items()
    ]


FOLDER_LIST_RESPONSE = per_provider("CloudFolderList", FOLDER)
LOGOUT_RESPONSE = inline_serializer(
    "CloudLogout",
    {"token": serializers.CharField(), "logged_out": serializers.ListField()},
)
ERRORS = errors(400, 401, 403, 404, 429, 502)


@dataclass(frozen=True)
class CloudCall:
    """A validated cloud call: its body, app, credentials, session token and verified policy."""

    data: dict
    app: App
    creds: Credentials
    token: str
    policy: Policy | None


def validated(serializer_class, request, call: str | tuple[str, ...] = "pick") -> CloudCall:
    """The call's body checked by its serializer, the app resolved and `call` authorized."""
    body = params.json_object(request)
    serializer = serializer_class(data=body)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    creds = params.credentials(request, data)
    app = access.resolve_app(creds)
    policy = access.authorize(app, creds, call)
    return CloudCall(data, app, creds, cloud.session_token(data.get("token")), policy)


class FolderListView(APIView):
    @extend_schema(
        operation_id="cloud_folder_list",
        request=FolderListRequest,
        responses={200: FOLDER_LIST_RESPONSE, **ERRORS},
        examples=request_examples(
            {"flickr": {"path": "/", "next": None}, "instagram": {"path": "/", "next": None}}
        ),
    )
    def post(self, request):
        call = validated(FolderListRequest, request)
        answer = {"token": call.token}
        for name, folder in call.data["clouds"].items():
            page = int(folder["next"]) if folder.get("next") else None
            path = folder.get("path") or "/"
            answer[name] = cloud.list_folder(call.app, name, call.token, path, page)
        return Response(answer)


class LogoutView(APIView):
    @extend_schema(
        operation_id="cloud_auth_logout",
        request=LogoutRequest,
        responses={200: LOGOUT_RESPONSE, **ERRORS},
        examples=request_examples({"flickr": {}, "instagram": {}}),
    )
    def post(self, request):
        call = validated(LogoutRequest, request)
        if not call.data.get("token"):
            raise BadRequest("a session token is required to log out", code="token_required")
        names = list(call.data.get("clouds") or base.REGISTRY)
        done = cloud.logout(call.app, names, call.token)
        return Response({"token": call.token, "logged_out": done})


class StoreView(APIView):
    """pick (a symlink to the item) or, with `store`, pickAndStore (a copy in the app's storage)."""

    @extend_schema(
        operation_id="cloud_store",
        request=StoreRequest,
        responses={200: per_provider("CloudStored", BLOB), **ERRORS},
        # No request examples here: with them the schema fuzz of this call failed in full suite
        # runs with Hypothesis's FlakyStrategyDefinition (examples mixed into generation).
    )
    def post(self, request):
        call = validated(StoreRequest, request)
        answer = {"token": call.token}
        for name, item in call.data["clouds"].items():
            base.get(name)
            connection = cloud.connection_for(call.app, name, call.token)
            if connection is None:
                answer[name] = cloud.auth_needed(call.app, name, call.token)
                continue
            options, policy = None, call.policy
            if item.get("store") is not None:
                policy = access.authorize(call.app, call.creds, "store")
                options = files.StoreOptions.build(**_store_fields(item["store"]))
            try:
                link, meta = transfers.pick(connection, item["path"], options, policy)
            except ProviderTokenRejected:  # revoked at the provider: reconnect, as a list does
                base.get(name).disconnect(connection)
                answer[name] = cloud.auth_needed(call.app, name, call.token)
                continue
            cloud.touch(connection)
            answer[name] = transfers.blob(link, meta)
        return Response(answer)


def _store_fields(store: dict) -> dict:
    return {
        name: store.get(name)
        for name in ("location", "path", "container", "access", "filename")
        if store.get(name) is not None
    }


class ExportView(APIView):
    """Save a stored file (handle or its URL) or a URL to the provider; the new item's blob."""

    @extend_schema(
        operation_id="cloud_export",
        request=ExportRequest,
        responses={200: per_provider("CloudExported", BLOB, EXPORTERS), **ERRORS},
        examples=request_examples({"flickr": {"title": "Holiday"}}, handle="HANDLE"),
    )
    def post(self, request):
        call = validated(ExportRequest, request, ("pick", "read"))
        data = call.data
        cloud.check_exportable(data["clouds"])
        source = transfers.export_source(call.app, data.get("handle"), data.get("url"))
        if isinstance(source, str):
            if call.policy is not None:
                call.policy.allows_url(source)
        else:
            access.authorize(call.app, call.creds, ("pick", "read"), handle=source.handle)
        answer = {"token": call.token}
        for name, item in data["clouds"].items():
            base.get(name)
            connection = cloud.connection_for(call.app, name, call.token)
            if connection is None or connection.permissions != "write":
                answer[name] = cloud.auth_needed(call.app, name, call.token, "write")
                continue
            options = {k: item[k] for k in ("title", "description", "tags") if item.get(k)}
            link, meta = transfers.export(connection, source, item.get("filename"), **options)
            cloud.touch(connection)
            answer[name] = transfers.blob(link, meta)
        return Response(answer)
