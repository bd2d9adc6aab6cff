"""Test settings.

The database comes from DATABASE_URL (PostgreSQL in CI, SQLite locally).
Whatever REDIS_URL says, tests default to the in-memory channel layer, eager
Celery and the locmem email backend; tests that exercise Redis, a real worker
or SMTP opt in explicitly through fixtures in tests/conftest.py.
"""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
# pytest-django creates and drops the test database through the default connection: no
# pool in the test process (or in the servers it starts) unless a test asks for one.
os.environ.setdefault("DB_POOL", "0")

from .base import *  # noqa: E402,F403
from .base import BASE_DIR, DATABASES, env, redis_cache, redis_channel_layer  # noqa: E402

DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "[::1]"]
# The REDIS_URL tests opt into; a database number of its own, flushed by fixtures.
TEST_REDIS_URL = env.str("REDIS_URL", default="")
REDIS_URL = ""
PRESENCE_REDIS_URL = ""
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so that a real ASGI server subprocess can share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}

if env.bool("TEST_USE_REAL_SERVICES", default=False) and TEST_REDIS_URL:
    # A server or worker process started by a test that exercises the real services:
    # Redis for the channel layer, the cache, presence and the Celery broker, configured
    # as in production (same helpers, same timeouts); EMAIL_URL for mail.
    CHANNEL_LAYERS = {"default": redis_channel_layer(TEST_REDIS_URL)}
    CACHES = {"default": redis_cache(TEST_REDIS_URL)}
    PRESENCE_REDIS_URL = TEST_REDIS_URL
    CELERY_BROKER_URL = TEST_REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
    if env.str("EMAIL_URL", default=""):
        vars().update(env.email_url("EMAIL_URL"))
