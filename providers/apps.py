from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from picker import openers
        from providers import base, transfers
        from providers.flickr.provider import FlickrProvider

        flickr = FlickrProvider()
        base.register(flickr)
        openers.register(flickr.label, transfers.opener(flickr.name))
