"""Settings for benchmarks/api.py only: OpenPicker's own, plus the bare DRF view it compares with.

Everything else (middleware, DRF settings, database, storage, broker) is the product's, so
the bare view runs in the same gunicorn workers, under the same settings, as the endpoints.
"""

from openpicker.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.api_urls"
