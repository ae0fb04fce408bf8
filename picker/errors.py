"""The core's exception hierarchy; the API's exception handler maps it to the JSON shape."""


class PickerError(Exception):
    """A request the core refuses: an HTTP status, a short code and a human sentence."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status:
            self.status = status


class BadRequest(PickerError):
    pass


class InvalidFilename(PickerError):
    code = "invalid_filename"


class InvalidPath(PickerError):
    code = "invalid_path"


class AuthenticationFailed(PickerError):
    status = 401
    code = "unauthorized"


class PolicyError(PickerError):
    """A policy or signature that does not allow the call (the reason is in the detail)."""

    status = 403
    code = "invalid_policy"


class Forbidden(PickerError):
    status = 403
    code = "forbidden"


class NotFound(PickerError):
    status = 404
    code = "not_found"


class TooLarge(PickerError):
    status = 413
    code = "too_large"


class OutboundRefused(PickerError):
    """A server-side fetch the outbound guard will not make."""

    code = "url_refused"


class OutboundFailed(PickerError):
    """A server-side fetch that was allowed but did not succeed."""

    status = 400
    code = "url_fetch_failed"


class OutboundStatus(OutboundFailed):
    """The remote server answered, with a status that is not a success.

    `status_code` is its status and `reply` the first KB of its body (for logs and delivery
    attempts; the client only sees the detail).
    """

    def __init__(self, detail: str, *, status_code: int, reply: bytes = b""):
        super().__init__(detail)
        self.status_code = status_code
        self.reply = reply


class RangeNotSatisfiable(PickerError):
    status = 416
    code = "range_not_satisfiable"


class BodyTimeout(PickerError):
    """A request body that stalled or went on past its deadline (OPENPICKER_BODY_DEADLINE)."""

    status = 408
    code = "body_timeout"
