import contextlib
import json

import pytest

from tests.services import asgi_server, free_port, healthz, run_django, silent_port

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


# --- On a real daphne process: an unreachable or hung dependency answers 503 within 3 s --------


def _postgres_url_on(port: int) -> str:
    return f"postgres://postgres@127.0.0.1:{port}/nowhere"


@pytest.mark.parametrize("how", ["refused", "hung"])
def test_healthz_on_a_server_says_503_within_3s_when_the_channel_layer_redis_is_down(how):
    with contextlib.ExitStack() as stack:
        port = free_port() if how == "refused" else stack.enter_context(silent_port())
        env = {"TEST_USE_REAL_SERVICES": "1", "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        base, _ = stack.enter_context(asgi_server(extra_env=env))
        status, body, seconds = healthz(base)
    assert status == 503, body
    assert seconds < 3, f"/healthz took {seconds:.1f}s"
    assert body["checks"]["channel_layer"].startswith("down"), body
    assert body["checks"]["cache"].startswith("down"), body
    assert body["checks"]["database"] == "ok", body


@pytest.mark.parametrize("how", ["refused", "hung"])
def test_healthz_on_a_server_says_503_within_3s_when_the_database_is_down(how):
    with contextlib.ExitStack() as stack:
        port = free_port() if how == "refused" else stack.enter_context(silent_port())
        base, _ = stack.enter_context(
            asgi_server(extra_env={"DATABASE_URL": _postgres_url_on(port)})
        )
        status, body, seconds = healthz(base)
        # Asked again while the first check may still wait on the database in its thread.
        again, _, seconds_again = healthz(base)
    assert status == 503 and again == 503, body
    assert max(seconds, seconds_again) < 3, f"/healthz took {seconds:.1f}s, {seconds_again:.1f}s"
    assert body["checks"]["database"].startswith("down"), body
    assert body["checks"]["channel_layer"] == "ok", body
