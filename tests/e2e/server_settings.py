"""Settings of the one ASGI server a browser test session starts (tests/e2e/conftest.py).

The test settings, plus mail to the session's local SMTP server (``EMAIL_URL``): the
browser tests read verification and unsubscribe links from real messages. The channel
layer stays in memory (one server process), Celery stays eager (mail goes out in the
request that caused it).
"""

from supportgroup.settings.test import *  # noqa: F403
from supportgroup.settings.test import env

if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))

MIDDLEWARE = ["tests.e2e.server_middleware.fresh_content_types", *MIDDLEWARE]  # noqa: F405
