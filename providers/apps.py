from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from providers import base
        from providers.flickr.provider import FlickrProvider

        base.register(FlickrProvider())
