"""Settings come from the environment; each case runs in a fresh interpreter."""

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
    assert celery == "True memory://"
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
    assert layer == "channels_redis.core.RedisChannelLayer"
    assert celery == "False redis://cache.internal:6379/0"
    assert cache == "django.core.cache.backends.redis.RedisCache"
    assert email == "django.core.mail.backends.smtp.EmailBackend"
    assert hosts == "a.example,b.example"


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
