"""Settings shared by every environment.

Every deploy-time choice comes from the environment (12-factor) with an
embedded default for a first run: SQLite, the in-memory channel layer, Celery
tasks run eagerly and emails printed to the console. See README.md for each
variable.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=False)

# A development key exists only so that a first `make run` works; production
# settings refuse to start without SECRET_KEY (see production.py).
_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-5f1c0a"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="supportgroup")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "supportgroup.accounts",
    "supportgroup",
    "groups",
    "journeys",
    "notifications",
]

MIDDLEWARE = [
    # First: every answer (redirects, static files, errors) gets a request id and an
    # access line; the id is on every line logged while the request runs.
    "supportgroup.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and JSON go out gzipped to browsers that ask (static files are compressed ahead
    # of time by WhiteNoise, above, which answers them before this runs). Outside every
    # middleware that changes the body. BREACH (guessing a secret in a compressed page from
    # its size) is answered the way Django answers it: the CSRF token is masked afresh in
    # every response, and GZipMiddleware pads each body with up to 100 random bytes; session
    # ids never appear in a page.
    "django.middleware.gzip.GZipMiddleware",
    # After WhiteNoise, which answers static files itself (CSP section below).
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "supportgroup.middleware.SessionRefreshMiddleware",
    # Outside CommonMiddleware (its slash redirects get the header too), inside sessions
    # (reading request.user at the end still marks the response Vary: Cookie).
    "supportgroup.middleware.PrivateNoStoreMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Clear-Site-Data on the answer that signs someone out (needs request.user).
    "supportgroup.pwa.ClearSiteDataOnSignOutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
]

ROOT_URLCONF = "supportgroup.urls"
ASGI_APPLICATION = "supportgroup.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "supportgroup.context_processors.site",
                "notifications.context_processors.notifications",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# A persistent connection (CONN_MAX_AGE > 0) can die under us (database restart, failover,
# pg_terminate_backend); check it before reuse instead of failing the request or the
# socket message that happens to use it first.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # libpq waits forever for an unreachable host by default: a down database must fail
    # a request (and /healthz) within seconds, not hang a worker thread.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    # A connection pool per process (Django's psycopg_pool support). Under daphne every
    # request runs in a thread of its own, and each socket message's database call in
    # another: without a pool each one opened a new PostgreSQL connection (a backend fork
    # and authentication, per page and per socket message); CONN_MAX_AGE instead keeps one
    # per thread forever and runs the server out of connections. The pool lends a
    # connection for the request or the call and takes it back when Django closes it;
    # CONN_HEALTH_CHECKS (below) makes it check a connection before lending it, so one the
    # database dropped is replaced. At most DB_POOL_MAX_SIZE connections per process:
    # a caller waits up to DB_POOL_TIMEOUT seconds for one, then fails with a clear error.
    # docs/operations.md has the sizing.
    # Setting CONN_MAX_AGE > 0 (connections kept per thread) turns the pool off.
    if env.bool("DB_POOL", default=not DATABASES["default"]["CONN_MAX_AGE"]):
        if DATABASES["default"]["CONN_MAX_AGE"]:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                "DB_POOL=1 and CONN_MAX_AGE > 0 exclude each other: choose one."
            )
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=8),
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
            "max_idle": 300,  # close connections unused for 5 minutes, down to min_size
            "name": "supportgroup",
        }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and a cron job share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery ---------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

# redis-py 8 gives every connection a 5 s socket timeout unless told otherwise. Each Redis
# client below sets its own, fitted to the slowest call it makes.
#
# The channel layer's receive blocks in BZPOPMIN for up to `brpop_timeout` (5 s) waiting for
# a message: a read timeout of exactly 5 s fires on every idle socket and closes it with 1011
# ("Timeout reading from ..."; channels_redis#422, redis-py#4091). 15 s is three times the
# longest wait, so only a Redis that has stopped answering trips it. Connecting never blocks
# on Redis, so 2 s to connect; keepalive and a PING on a connection idle for 30 s find half-
# open connections (a dropped NAT entry) before a message is lost on them. After Redis
# restarts, every pooled connection is dead and redis-py 8's async pool hands them out
# anyway: one immediate retry on a fresh connection (connection errors only, never after a
# timeout) keeps a restart from costing each of them a failed send or a closed socket.
CHANNEL_LAYER_REDIS_OPTIONS = {
    "socket_timeout": 15,
    "socket_connect_timeout": 2,
    "socket_keepalive": True,
    "health_check_interval": 30,
    "retry": AsyncRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
}
# The cache and presence (journeys/presence.py) only send commands Redis answers at once
# (GET, SET, INCR, HSET...): nothing blocks server-side, so an answer slower than 2 s means
# Redis is gone or drowning, and the caller is better off without it (the cache falls back
# to memory, see supportgroup/cache.py). Short, so that a page never waits long on Redis.
QUICK_REDIS_OPTIONS = {"socket_timeout": 2, "socket_connect_timeout": 1}


def redis_channel_layer(url: str | list[str]) -> dict:
    """The channels-redis layer on ``url``: production, test servers and test fixtures use this.

    Several URLs shard the layer: channels-redis puts each group on the host its name hashes
    to, and each process's channels on the host its channel prefix hashes to. Every process
    must list the same hosts in the same order (docs/deploy.md, "Sharding the channel layer").

    The layer is channels-redis' core layer with one reader per process for the process's
    sockets (``supportgroup.channel_layer``, #11). ``CHANNEL_LAYER=stock`` selects
    channels-redis' layer unchanged and ``CHANNEL_LAYER=pubsub`` its Pub/Sub layer (the
    benchmarks compare them; Pub/Sub has no capacity or expiry: messages are not queued).
    """
    urls = [url] if isinstance(url, str) else list(url)
    # A host dict goes to redis.asyncio.ConnectionPool.from_url(address, **rest).
    hosts = [{"address": u, **CHANNEL_LAYER_REDIS_OPTIONS} for u in urls]
    kind = env.str("CHANNEL_LAYER", default="core")
    if kind == "pubsub":
        return {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": hosts},
        }
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer"
        if kind == "stock"
        else "supportgroup.channel_layer.ReaderRedisChannelLayer",
        "CONFIG": {
            "hosts": hosts,
            "capacity": 1500,
            "expiry": 30,
        },
    }


def redis_cache(url: str) -> dict:
    """The Redis cache on ``url``, falling back to memory while Redis is unreachable."""
    return {
        "BACKEND": "supportgroup.cache.FallbackRedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "sg",
        "OPTIONS": dict(QUICK_REDIS_OPTIONS),
    }


# The channel layer's Redis hosts (comma-separated); the cache, presence and Celery stay on
# REDIS_URL whatever this says.
CHANNEL_REDIS_URLS = env.list("CHANNEL_REDIS_URLS", default=[REDIS_URL] if REDIS_URL else [])
if CHANNEL_REDIS_URLS and not REDIS_URL:
    raise ImproperlyConfigured("CHANNEL_REDIS_URLS needs REDIS_URL (cache, presence, Celery).")

if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(CHANNEL_REDIS_URLS)}
    CACHES = {"default": redis_cache(REDIS_URL)}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # A real (per-process) cache: allauth's rate limits do not work on the dummy one.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Who is online on a group page, shared by every web process (see journeys/presence.py).
PRESENCE_REDIS_URL = REDIS_URL

# Longest task may run TASK_TIME_LIMIT seconds; the broker must not redeliver
# a message that is still being worked on, so the visibility timeout is longer.
# Every other timing of a killed worker's recovery is derived from this limit
# (docs/operations.md, "A killed worker", has the arithmetic; tests/supportgroup/
# test_celery.py checks it). A run that reaches the hard limit has its pool child killed.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - CELERY_TASK_TIME_LIMIT // 5
# Slack after the hard limit (killing the child, PostgreSQL rolling back its open
# transaction) and for clock skew between worker hosts: 60 s at the default limit.
_CELERY_MARGIN = max(CELERY_TASK_TIME_LIMIT // 5, 1)
# A digest claim older than this belongs to a dead run (a live one is killed at the limit),
# so any sender may take it over (journeys/services/digests.py).
DIGEST_STALE_CLAIM_SECONDS = CELERY_TASK_TIME_LIMIT + _CELERY_MARGIN
# The longest countdown a task may retry with. A retried message is held unacked by a
# worker until its ETA: held longer than the visibility timeout, the broker hands a
# second copy to another worker while the first still waits, and both run.
TASK_MAX_RETRY_COUNTDOWN = CELERY_TASK_TIME_LIMIT // 2
_CELERY_VISIBILITY_TIMEOUT = CELERY_TASK_TIME_LIMIT + TASK_MAX_RETRY_COUNTDOWN + _CELERY_MARGIN
# How often each worker looks for messages of dead workers past the visibility timeout.
# kombu scans every unacked_restore_interval x unacked_restore_throttle seconds (10 x 10
# by default); throttle 1 makes the interval the period. A worker killed while holding
# the scan's mutex blocks scans until the mutex expires, so it expires as fast.
_CELERY_RESTORE_EVERY = max(CELERY_TASK_TIME_LIMIT // 20, 1)
# Beat runs journeys.tasks.send_due_digests this often (supportgroup/celery.py); it
# proposes again every digest still claimed, and a stale claim is then taken over.
DIGEST_SWEEP_SECONDS = 300
# From a kill to the last email of the killed chunk, with a free worker running: the
# first of redelivery (visibility timeout, then a scan, maybe after a held mutex) and the
# sweep (stale age, then the next beat), plus the rerun itself (at most the time limit).
DIGEST_RECOVERY_SECONDS = (
    min(
        _CELERY_VISIBILITY_TIMEOUT + 2 * _CELERY_RESTORE_EVERY,
        DIGEST_STALE_CLAIM_SECONDS + DIGEST_SWEEP_SECONDS,
    )
    + CELERY_TASK_TIME_LIMIT
)
if DIGEST_RECOVERY_SECONDS >= 15 * 60:
    raise ImproperlyConfigured(
        f"CELERY_TASK_TIME_LIMIT={CELERY_TASK_TIME_LIMIT} lets a killed worker's digests wait "
        f"{DIGEST_RECOVERY_SECONDS} s; the promise is under 15 minutes: keep it at most 320 s."
    )
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
# Redis client timeouts. kombu passes socket_timeout=None to redis-py unless told (a
# publish on a half-open connection would wait forever). The only call that blocks
# server-side is the worker's BRPOP, for brpop_timeout = 1 s, and it is read by the event
# loop, where no socket timeout applies; everything else (publish, ack, the unacked scan)
# is answered at once. 10 s is ten times that longest wait, so it fires only when Redis has
# stopped answering, never on an idle queue. A health check every 10 s drops a BRPOP
# connection whose reply is overdue within 1 + 2 x 10 = 21 s (kombu's default 25: 51 s).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": _CELERY_RESTORE_EVERY,
    "unacked_restore_throttle": 1,
    "unacked_mutex_expire": _CELERY_RESTORE_EVERY,
    "socket_timeout": 10,
    "socket_connect_timeout": 3,
    "socket_keepalive": True,
    "health_check_interval": 10,
}
# The result backend (results are ignored, CELERY_TASK_IGNORE_RESULT) waits for a result
# by polling its pub/sub socket in slices of at most 1 s, outside the socket timeout; its
# other commands are answered at once. Celery's default read timeout is 120 s.
CELERY_REDIS_SOCKET_TIMEOUT = 10
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 3
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 10
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# --- Email ------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 20

# --- Accounts (django-allauth) ---------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_SIGNUP_FORM_CLASS = "supportgroup.accounts.forms.SignupForm"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
ACCOUNT_ADAPTER = "supportgroup.accounts.adapter.AccountAdapter"
MFA_ADAPTER = "supportgroup.accounts.adapter.MFAAdapter"
# Two-factor sign-in with an authenticator app, and recovery codes for a lost phone.
# Optional for members; staff must set it up before anything else (see below).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
# Ending the other sessions also closes their live sockets (supportgroup/accounts/services.py).
USERSESSIONS_ADAPTER = "supportgroup.accounts.adapter.UserSessionsAdapter"
# Off: a database write on every request, to show a "last seen" column nobody needs.
USERSESSIONS_TRACK_ACTIVITY = False
# Sends a signed-in staff member without an authenticator app to set one up, from every
# page but that one, signing out and the crisis help (so also from the admin). Last, so
# that it sees the user and can leave a message.
MIDDLEWARE.append("supportgroup.accounts.middleware.StaffTwoFactorMiddleware")
# Sign-up asks people to confirm they are at least this old (the time is kept on User).
MIN_AGE = env.int("MIN_AGE", default=16)
# Who runs this site, for the privacy notice and terms (templates/pages/): set them for a
# deployment; until then those pages show a clearly marked placeholder.
POLICY_ORGANISATION = env.str("POLICY_ORGANISATION", default="")
POLICY_CONTACT_EMAIL = env.str("POLICY_CONTACT_EMAIL", default="")
POLICY_JURISDICTION = env.str("POLICY_JURISDICTION", default="")

# --- Sessions and security -------------------------------------------------
# The database backend with its read compiled once (supportgroup/session_store.py).
SESSION_ENGINE = "supportgroup.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Content-Security-Policy and caching -------------------------------------
from csp.constants import NONCE, NONE, SELF  # noqa: E402 - kept with the policy it builds

# One strict policy for every page (django-csp 4 adds the header in CSPMiddleware): no
# inline script, style or event handler anywhere, so HTML that slipped past the
# sanitiser could not run or restyle anything. Our <script> tags carry the request's
# nonce; files from our own origin load through 'self'. img-src allows data: for the
# QR code of two-factor setup (allauth draws it as a data: image). connect-src 'self'
# covers the live sockets too: CSP 3 matches ws:/wss: on the page's own host and port.
# The admin, allauth's pages and the pushed partials all work under it
# (tests/e2e/test_csp.py), so nothing is loosened anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
# Every response gets Cache-Control: private, no-store (supportgroup/middleware.py)
# except these views answered to a visitor who is signed out: they carry no member text.
PUBLIC_CACHEABLE_VIEWS = frozenset(
    {
        "home",
        "crisis_help",
        "privacy",
        "terms",
        "account_login",
        "account_signup",
        "account_reset_password",
    }
)

# --- i18n / time ------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- Static files (whitenoise serves them; `make run` needs nothing else) ---
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True


# --- Safety ----------------------------------------------------------------
# Crisis resources are rows of supportgroup.CrisisResource, managed in the admin (the
# starter list comes from supportgroup/migrations/0002_load_starter_resources.py).
# Where "Leave quickly" (and Escape three times) goes: a page nobody would look at twice.
QUICK_EXIT_URL = env.str("QUICK_EXIT_URL", default="https://www.bbc.com/weather")

# --- Logging: never log member text -----------------------------------------
# Logs hold ids, counts and exception class names: never member text, email addresses or
# session ids (docs/privacy.md). Every line goes through one handler to stdout; the
# formatter withholds exception messages and email addresses (supportgroup/logging.py),
# for what libraries put in them. Operators keep logs 14 days (the retention schedule).
# LOG_FORMAT: "json" (one object per line, production's default) or "plain" (dev, tests).
# Each line logged while a request, socket or task runs carries its id (request_id.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "class": "supportgroup.logging.PrivateFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"class": "supportgroup.logging.JsonFormatter"},
    },
    "filters": {"request_id": {"()": "supportgroup.request_id.RequestIdFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's defaults give "django" a handler that emails ADMINS each error with the
        # request's POST data and cookies (once DEBUG is off): none here. Its records go to
        # the root handler above like everyone's.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # At DEBUG this logs every SQL statement with its parameters: what members wrote.
        "django.db.backends": {"level": "WARNING"},
        # 403s and 404s are ordinary here (the permission rules); only errors are worth a traceback.
        "django.request": {"level": "ERROR"},
        "daphne": {"level": "WARNING"},
    },
}
# While this file exists, /readyz answers 503: the node is taken out of the load balancer
# before it is stopped (docs/operations.md, "Health"). Unset: no file is looked for.
DRAIN_FILE = env.str("DRAIN_FILE", default="")
# An error is answered with the plain 500 page (templates/500.html), never the traceback.
DEBUG_PROPAGATE_EXCEPTIONS = False

# --- Retention ----------------------------------------------------------------
# The retention schedule (docs/privacy.md, the same numbers in the privacy notice): how
# many days each kind of record is kept. journeys/services/retention.py deletes what is
# older, once a day (the beat schedule in supportgroup/celery.py). Member-written posts
# have no period: they stay until their author deletes them or the account.
RETENTION_HANDLED_REPORT_DAYS = env.int("RETENTION_HANDLED_REPORT_DAYS", default=180)
RETENTION_MODERATOR_NOTE_DAYS = env.int("RETENTION_MODERATOR_NOTE_DAYS", default=365)
RETENTION_AUDIT_DAYS = env.int("RETENTION_AUDIT_DAYS", default=365)
RETENTION_DIGEST_DELIVERY_DAYS = env.int("RETENTION_DIGEST_DELIVERY_DAYS", default=90)
RETENTION_SESSION_DAYS = env.int("RETENTION_SESSION_DAYS", default=14)
# Invitations hold the address of someone who may never have signed up: gone this long
# after they expired or were revoked (the moderators' list shows them that long).
RETENTION_INVITATION_DAYS = env.int("RETENTION_INVITATION_DAYS", default=30)
# Notifications are pointers (notifications/models.py): read ones go soon after reading,
# unread ones once nobody is likely to come back for them.
RETENTION_NOTIFICATION_READ_DAYS = env.int("RETENTION_NOTIFICATION_READ_DAYS", default=30)
RETENTION_NOTIFICATION_UNREAD_DAYS = env.int("RETENTION_NOTIFICATION_UNREAD_DAYS", default=180)
# A digest delivery row is also what stops an email going out twice while its period can
# still be proposed (up to 48 h late, journeys/digests.py): it must outlive that window.
_RETENTION_MINIMUM_DAYS = {"RETENTION_DIGEST_DELIVERY_DAYS": 3}
for _name in (
    "RETENTION_HANDLED_REPORT_DAYS",
    "RETENTION_MODERATOR_NOTE_DAYS",
    "RETENTION_AUDIT_DAYS",
    "RETENTION_DIGEST_DELIVERY_DAYS",
    "RETENTION_SESSION_DAYS",
    "RETENTION_INVITATION_DAYS",
    "RETENTION_NOTIFICATION_READ_DAYS",
    "RETENTION_NOTIFICATION_UNREAD_DAYS",
):
    if vars()[_name] < _RETENTION_MINIMUM_DAYS.get(_name, 1):
        raise ImproperlyConfigured(
            f"{_name} must be at least {_RETENTION_MINIMUM_DAYS.get(_name, 1)} day(s)."
        )
# "Two weeks after last use": the first request of each day moves a session's expiry
# (supportgroup.middleware.SessionRefreshMiddleware: one UPDATE a day, not one a request),
# so a session ends RETENTION_SESSION_DAYS after it was last used, less at most a day, and
# the daily prune then deletes it.
SESSION_COOKIE_AGE = RETENTION_SESSION_DAYS * 24 * 60 * 60
