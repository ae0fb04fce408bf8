"""The cloud API for the picker (/cloud/..., JSON POST, Filestack's shapes): parse, call, answer.

Every call names the app by `apikey`, carries the end user's session `token` (a new one is made
and answered back when absent) and, when the app requires security, a policy allowing `pick`.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from picker import access, params
from picker.errors import BadRequest
from picker.schema import errors
from providers import base, cloud


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
FOLDER_LIST_RESPONSE = inline_serializer(
    "CloudFolderList",
    {"token": serializers.CharField(), "flickr": FOLDER},
)
LOGOUT_RESPONSE = inline_serializer(
    "CloudLogout",
    {"token": serializers.CharField(), "logged_out": serializers.ListField()},
)
ERRORS = errors(400, 401, 403, 404, 429, 502)


def validated(serializer_class, request) -> tuple[dict, object, str]:
    """(validated body, the app, the session token) of a cloud call allowed to `pick`."""
    body = params.json_object(request)
    serializer = serializer_class(data=body)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    creds = params.credentials(request, data)
    app = access.resolve_app(creds)
    access.authorize(app, creds, "pick")
    return data, app, cloud.session_token(data.get("token"))


class FolderListView(APIView):
    @extend_schema(
        operation_id="cloud_folder_list",
        request=FolderListRequest,
        responses={200: FOLDER_LIST_RESPONSE, **ERRORS},
    )
    def post(self, request):
        data, app, token = validated(FolderListRequest, request)
        answer = {"token": token}
        for name, folder in data["clouds"].items():
            page = int(folder["next"]) if folder.get("next") else None
            answer[name] = cloud.list_folder(app, name, token, folder.get("path") or "/", page)
        return Response(answer)


class LogoutView(APIView):
    @extend_schema(
        operation_id="cloud_auth_logout",
        request=LogoutRequest,
        responses={200: LOGOUT_RESPONSE, **ERRORS},
    )
    def post(self, request):
        data, app, token = validated(LogoutRequest, request)
        if not data.get("token"):
            raise BadRequest("a session token is required to log out", code="token_required")
        names = list(data.get("clouds") or base.REGISTRY)
        return Response({"token": token, "logged_out": cloud.logout(app, names, token)})
