import json

import pytest
from django.conf import settings
from kombu import Connection
from kombu.transport.redis import Transport

from supportgroup.celery import app
from tests.services import run_django


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    names = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"journeys.tasks.publish_due_themes", "journeys.tasks.send_due_digests"} <= names
    assert names <= set(app.tasks), names - set(app.tasks)


def test_celery_runs_json_only_and_acks_late():
    conf = app.conf
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit


# --- How fast a killed worker's digests recover (the arithmetic of docs/operations.md) ----

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "supportgroup.settings.production",
    "SECRET_KEY": "x" * 50,
    "REDIS_URL": "redis://cache.internal:6379/0",
}
DERIVED = (
    "import json\n"
    "from django.conf import settings as s\n"
    "from supportgroup.celery import app\n"
    "print(json.dumps({\n"
    "    'limit': s.CELERY_TASK_TIME_LIMIT, 'soft': s.CELERY_TASK_SOFT_TIME_LIMIT,\n"
    "    'stale': s.DIGEST_STALE_CLAIM_SECONDS, 'countdown': s.TASK_MAX_RETRY_COUNTDOWN,\n"
    "    'sweep': s.DIGEST_SWEEP_SECONDS, 'recovery': s.DIGEST_RECOVERY_SECONDS,\n"
    "    'broker': app.conf.broker_transport_options,\n"
    "    'backend': [app.conf.redis_socket_timeout, app.conf.redis_socket_connect_timeout],\n"
    "}))\n"
)


def derived(time_limit: str) -> dict:
    out = run_django(DERIVED, {**PRODUCTION, "CELERY_TASK_TIME_LIMIT": time_limit})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("time_limit", ["300", "10", "320"])  # the default, the tests', the most
def test_a_killed_workers_digests_are_sent_again_within_15_minutes(time_limit):
    d = derived(time_limit)
    limit, broker = d["limit"], d["broker"]
    assert limit == int(time_limit) and 0 < d["soft"] < limit
    # A live run is killed at the hard limit, so a claim older than that is a dead run's.
    assert d["stale"] > limit
    # A retry is held unacked until its ETA, then runs up to the limit: all of it must fit in
    # the visibility timeout, or the broker hands out a second copy meanwhile.
    assert broker["visibility_timeout"] > limit + d["countdown"]
    # Redelivery: past the visibility timeout, at the next scan of unacked messages (which a
    # killed worker's mutex may block until it expires). The sweep: past the stale age, at
    # the next beat. Whichever is first, then the rerun itself.
    scan = broker["unacked_restore_interval"] * broker["unacked_restore_throttle"]
    redelivery = broker["visibility_timeout"] + scan + broker["unacked_mutex_expire"]
    sweep = d["stale"] + d["sweep"]
    worst = min(redelivery, sweep) + limit
    assert worst <= d["recovery"] < 15 * 60


def test_a_time_limit_that_breaks_the_promise_is_refused():
    out = run_django("print('started')", {**PRODUCTION, "CELERY_TASK_TIME_LIMIT": "400"})
    assert out.returncode != 0 and "started" not in out.stdout
    assert "CELERY_TASK_TIME_LIMIT=400" in out.stderr and "15 minutes" in out.stderr


def test_the_digest_sweep_runs_as_often_as_the_recovery_bound_assumes():
    schedule = app.conf.beat_schedule["send-due-digests"]["schedule"]
    assert schedule == settings.DIGEST_SWEEP_SECONDS


def test_redis_clients_of_celery_time_out_but_never_on_an_idle_queue():
    d = derived("300")
    broker = d["broker"]
    # kombu's worker blocks in BRPOP for brpop_timeout seconds; a read timeout must outlast
    # it by far, and be set at all (kombu's default is none: a publish could hang forever).
    assert broker["socket_timeout"] >= 5 * Transport.brpop_timeout
    assert 0 < broker["socket_connect_timeout"] <= broker["socket_timeout"]
    # A BRPOP connection that went half-open is dropped within brpop + 2 x this.
    assert Transport.brpop_timeout + 2 * broker["health_check_interval"] <= 30
    socket_timeout, connect_timeout = d["backend"]
    assert 0 < connect_timeout <= socket_timeout <= 30


@pytest.mark.redis
def test_the_broker_connection_gets_those_timeouts(redis_url):
    # What kombu really hands to redis-py (it passes socket_timeout=None unless told).
    with Connection(redis_url, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
        client = conn.default_channel.client
        kwargs = client.connection_pool.connection_kwargs
        assert (
            kwargs["socket_timeout"] == settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"]
        )
        assert kwargs["socket_connect_timeout"] == 3
        assert kwargs["health_check_interval"] == 10
        assert client.ping()


def test_no_task_retries_later_than_the_visibility_timeout_allows():
    app.loader.import_default_modules()
    too_late = {}
    for name, task in app.tasks.items():
        if name.startswith("celery.") or not getattr(task, "autoretry_for", ()):
            continue
        longest = task.retry_backoff_max if task.retry_backoff else task.default_retry_delay
        if longest > settings.TASK_MAX_RETRY_COUNTDOWN:
            too_late[name] = longest
    assert too_late == {}
