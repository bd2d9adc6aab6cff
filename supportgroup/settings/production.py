"""Production: DEBUG off, SECRET_KEY required, HTTPS assumed behind a proxy."""

import logging
import os

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DEBUG", "0")
# One JSON object per log line (docs/operations.md, "Logs"); LOG_FORMAT=plain to read by eye.
os.environ.setdefault("LOG_FORMAT", "json")
if not os.environ.get("SECRET_KEY"):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Production settings refuse to start without one."
    )

from .base import *  # noqa: E402,F403
from .base import REDIS_URL, env  # noqa: E402

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = False
# Preloading is a one-way commitment: browsers ship the list, and leaving it takes months,
# during which every subdomain must keep serving HTTPS. An operator opts in knowingly (and
# submits the domain), so `check --deploy` is told not to nag about it; every other
# deployment check passes for real (tests/supportgroup/test_deploy_check.py).
SILENCED_SYSTEM_CHECKS = ["security.W021"]

if not REDIS_URL:
    logging.getLogger("supportgroup").warning(
        "REDIS_URL is not set: using the in-memory channel layer and eager tasks. "
        "Run a single web process only; live updates do not cross processes."
    )
