"""Settings of the benchmark runs: production's, plus a bench-only URL, nothing else.

The runner (bench/run.py) sets the environment production reads (a generated
SECRET_KEY, DEBUG=0, ALLOWED_HOSTS=127.0.0.1, SECURE_SSL_REDIRECT=0, DATABASE_URL
of a database of its own, REDIS_URL) before this module is imported, in its own
process and in the daphne process it starts, so both run the same configuration.
"""

import os

from supportgroup.settings.production import *  # noqa: F403

# /bench/trivial/: P5's baseline, a view that does nothing on the same server and stack.
ROOT_URLCONF = "bench.urls"
# collectstatic goes to a directory of the run's own (production's manifest storage
# needs it), not to the checkout's staticfiles/.
STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT", STATIC_ROOT)  # noqa: F405
# P3 renders and "sends" 5,000 emails: kept in memory (and rendered to MIME), not printed.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Experiments, opt-in, for the fix list in docs/performance.md (never a default):
# BENCH_USE_I18N=0 runs without translation machinery, to measure what asgiref's
# ``Local`` behind ``get_language`` costs the group home under daphne's threads.
if os.environ.get("BENCH_USE_I18N") == "0":
    USE_I18N = False
