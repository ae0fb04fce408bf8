from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from picker import openers
        from providers import base, transfers
        from providers.flickr.provider import FlickrProvider
        from providers.instagram import tasks  # noqa: F401 - registers the refresh task
        from providers.instagram.provider import InstagramProvider

        flickr = FlickrProvider()
        base.register(flickr)
        openers.register(flickr.label, transfers.opener(flickr.name))
        instagram = InstagramProvider()
        base.register(instagram)
        openers.register(instagram.label, transfers.opener(instagram.name))
