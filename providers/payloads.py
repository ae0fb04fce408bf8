"""Query serializers of the OAuth routes (/api/client/{provider}/...): they document the routes in
the OpenAPI schema and validate the query, as the file API's payloads do for the core routes."""

from rest_framework import serializers


class AuthOpenQuery(serializers.Serializer):
    """?key=APIKEY&token=SESSION[&perms=write]: who connects, and for which session."""

    # Both optional here so that the app is resolved first (an unknown key is a 401), as before.
    key = serializers.CharField(max_length=64, required=False, allow_blank=True)
    token = serializers.CharField(max_length=256, required=False, allow_blank=True)
    perms = serializers.CharField(max_length=16, required=False, default="read")


class AuthCallbackQuery(serializers.Serializer):
    """What the provider sends the browser back with (both empty when the user refused)."""

    oauth_token = serializers.CharField(max_length=512, required=False, allow_blank=True)
    oauth_verifier = serializers.CharField(max_length=512, required=False, allow_blank=True)
    # OAuth 2.0 (Instagram): the code and the state it was asked with.
    code = serializers.CharField(max_length=2048, required=False, allow_blank=True)
    state = serializers.CharField(max_length=512, required=False, allow_blank=True)
