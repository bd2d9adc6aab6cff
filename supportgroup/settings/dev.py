"""Local development: DEBUG on unless the environment says otherwise."""

import os

os.environ.setdefault("DEBUG", "1")

from .base import *  # noqa: E402,F403
from .base import MIDDLEWARE, REDIS_URL  # noqa: E402

# A missing page looks as it will in production (supportgroup/dev_error_pages.py); Django's
# debug page stays for errors. Innermost, so that it sees a view's Http404 first.
MIDDLEWARE = [*MIDDLEWARE, "supportgroup.dev_error_pages.ProjectNotFoundPages"]

if not REDIS_URL:
    # Without Redis, tasks run eagerly and the broker is in memory: a host name keeps kombu
    # from warning "No hostname was supplied" whenever it describes the connection.
    CELERY_BROKER_URL = "memory://localhost/"
