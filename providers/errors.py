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
