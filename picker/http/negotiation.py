"""Content negotiation that never refuses: errors and blobs are JSON whatever Accept says."""

from rest_framework.negotiation import BaseContentNegotiation


class AlwaysJSONNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        for parser in parsers:
            if request.content_type.startswith(parser.media_type.split(";")[0]):
                return parser
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
