"""WSGI entry point: Django, with a deadline on reading request bodies (picker.streams)."""

import os

from django.core.wsgi import get_wsgi_application

from openpicker import memory

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openpicker.settings")
memory.tune()


class BodyDeadline:
    """Give every request body OPENPICKER_BODY_DEADLINE seconds in all and
    OPENPICKER_BODY_READ_TIMEOUT seconds per read, so a slow client cannot hold a web thread.
    """

    def __init__(self, app):
        from django.conf import settings

        self.app = app
        self.deadline = settings.OPENPICKER_BODY_DEADLINE
        self.read_timeout = settings.OPENPICKER_BODY_READ_TIMEOUT

    def __call__(self, environ, start_response):
        from picker.streams import DeadlineReader

        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = None
        # An HTTP/2 connection's socket carries other streams too: the deadline is then checked
        # between reads only.
        http2 = environ.get("SERVER_PROTOCOL", "").upper().startswith("HTTP/2")
        body = DeadlineReader(
            environ["wsgi.input"],
            deadline=self.deadline,
            read_timeout=self.read_timeout,
            sock=None if http2 else environ.get("gunicorn.socket"),
            length=length,
        )
        environ["wsgi.input"] = body
        try:
            return self.app(environ, start_response)
        finally:
            body.close()


application = BodyDeadline(get_wsgi_application())
