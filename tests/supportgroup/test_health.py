import json

import pytest

from tests.services import free_port, run_django

pytestmark = pytest.mark.django_db


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "channel_layer": "ok"},
    }


def test_healthz_503_when_channel_layer_unreachable(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["channel_layer"].startswith("down")


def test_healthz_503_when_database_unreachable():
    code = (
        "from django.test import Client\n"
        "import json\n"
        "r = Client().get('/healthz')\n"
        "print(r.status_code); print(r.content.decode())\n"
    )
    out = run_django(
        code,
        {
            "DJANGO_SETTINGS_MODULE": "supportgroup.settings.test",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",
        },
    )
    assert out.returncode == 0, out.stderr
    status, body = out.stdout.split("\n", 1)
    assert status == "503"
    checks = json.loads(body)["checks"]
    assert checks["database"].startswith("down")
    assert checks["channel_layer"] == "ok"


@pytest.mark.redis
def test_healthz_ok_on_real_redis(client, settings, redis_url, redis_channel_layer):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
