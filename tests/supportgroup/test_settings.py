"""Settings come from the environment; each case runs in a fresh interpreter."""

import json

from tests.services import run_django

PRINT = (
    "from django.conf import settings as s\n"
    "print(s.DATABASES['default']['ENGINE'])\n"
    "print(s.CHANNEL_LAYERS['default']['BACKEND'])\n"
    "print(s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL)\n"
    "print(s.CACHES['default']['BACKEND'])\n"
    "print(s.EMAIL_BACKEND)\n"
    "print(','.join(s.ALLOWED_HOSTS))\n"
)


def test_defaults_are_embedded():
    out = run_django(PRINT, {"DJANGO_SETTINGS_MODULE": "supportgroup.settings.dev"})
    assert out.returncode == 0, out.stderr
    engine, layer, celery, cache, email, _hosts = out.stdout.split("\n")[:6]
    assert engine == "django.db.backends.sqlite3"
    assert layer == "channels.layers.InMemoryChannelLayer"
    assert celery == "True memory://localhost/"  # a host name: kombu warns without one
    assert cache == "django.core.cache.backends.locmem.LocMemCache"
    assert email == "django.core.mail.backends.console.EmailBackend"


def test_urls_select_postgres_and_redis():
    out = run_django(
        PRINT,
        {
            "DJANGO_SETTINGS_MODULE": "supportgroup.settings.dev",
            "DATABASE_URL": "postgres://u:p@db.internal:5432/sg",
            "REDIS_URL": "redis://cache.internal:6379/0",
            "EMAIL_URL": "smtp://mail.internal:2525",
            "ALLOWED_HOSTS": "a.example,b.example",
        },
    )
    assert out.returncode == 0, out.stderr
    engine, layer, celery, cache, email, hosts = out.stdout.split("\n")[:6]
    assert engine == "django.db.backends.postgresql"
    assert layer == "supportgroup.channel_layer.ReaderRedisChannelLayer"
    assert celery == "False redis://cache.internal:6379/0"
    assert cache == "supportgroup.cache.FallbackRedisCache"
    assert email == "django.core.mail.backends.smtp.EmailBackend"
    assert hosts == "a.example,b.example"


def test_redis_clients_and_the_database_have_timeouts_that_fit_their_calls():
    code = (
        "import json\n"
        "from channels_redis.core import RedisChannelLayer\n"
        "from django.conf import settings as s\n"
        "from django.core.cache import caches\n"
        "host = s.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]\n"
        "pool = caches['default']._cache._get_connection_pool(write=True).connection_kwargs\n"
        "db = s.DATABASES['default']\n"
        "print(json.dumps({'layer': {k: v for k, v in host.items() if k != 'retry'},\n"
        "  'brpop': RedisChannelLayer.brpop_timeout, 'cache': {k: pool.get(k) for k in\n"
        "  ('socket_timeout', 'socket_connect_timeout')}, 'presence': s.QUICK_REDIS_OPTIONS,\n"
        "  'db': [db['CONN_MAX_AGE'], db['CONN_HEALTH_CHECKS'], db['OPTIONS']['connect_timeout']]}))\n"
    )
    out = run_django(
        code,
        {
            "DJANGO_SETTINGS_MODULE": "supportgroup.settings.dev",
            "DATABASE_URL": "postgres://u:p@db.internal:5432/sg",
            "REDIS_URL": "redis://cache.internal:6379/0",
            "CONN_MAX_AGE": "60",
        },
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    layer = got["layer"]
    assert layer["address"] == "redis://cache.internal:6379/0"
    # An idle socket's BZPOPMIN waits brpop_timeout: the read timeout must outlast it, well.
    assert layer["socket_timeout"] >= 2 * got["brpop"]
    assert 0 < layer["socket_connect_timeout"] <= 5
    assert layer["socket_keepalive"] and layer["health_check_interval"] > got["brpop"]
    # Calls that never block in Redis: short, so that a page never waits long on it.
    assert (
        0 < got["cache"]["socket_timeout"] <= 2 and 0 < got["cache"]["socket_connect_timeout"] <= 2
    )
    assert 0 < got["presence"]["socket_timeout"] <= 2
    assert got["db"] == [60, True, 3]


def test_production_without_secret_key_refuses_to_start():
    out = run_django(
        "print('started')", {"DJANGO_SETTINGS_MODULE": "supportgroup.settings.production"}
    )
    assert out.returncode != 0
    assert "started" not in out.stdout
    assert "SECRET_KEY" in out.stderr


def test_production_with_secret_key_and_no_redis_starts_with_a_warning():
    out = run_django(
        "from django.conf import settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE)",
        {"DJANGO_SETTINGS_MODULE": "supportgroup.settings.production", "SECRET_KEY": "x" * 50},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False True"
    assert "REDIS_URL is not set" in out.stderr


def test_dev_settings_with_debug_off_and_no_key_refuse():
    out = run_django(
        "print('started')", {"DJANGO_SETTINGS_MODULE": "supportgroup.settings.dev", "DEBUG": "0"}
    )
    assert out.returncode != 0
    assert "SECRET_KEY" in out.stderr
