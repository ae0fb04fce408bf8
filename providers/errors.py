"""Provider errors: PickerError subclasses, so the one error mapper answers them."""

from picker.errors import PickerError


class ProviderError(PickerError):
    """The provider refused or failed a call (its own code and message in detail)."""

    status = 502
    code = "provider_error"


class ProviderAuthError(ProviderError):
    """The connection's tokens are missing, revoked or lack a permission: reconnect."""

    status = 401
    code = "provider_reconnect"


class ProviderTokenRejected(ProviderAuthError):
    """The provider no longer accepts this connection's tokens (the user revoked the app): the
    connection is useless and can be forgotten. A bad app key is not this: it is every user's."""
