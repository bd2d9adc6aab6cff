"""The channel layer sharded over several Redis hosts (CHANNEL_REDIS_URLS, docs/deploy.md).

Two Redis databases stand for two hosts: the test's REDIS_URL and the next database number
on the same server (only keys under this test's own prefix are touched there). Each layer
instance stands for one process, as in production: channels-redis puts all of a process's
channels on the host its channel prefix hashes to, and each group on the host its name
hashes to.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.utils.module_loading import import_string

from supportgroup.settings.base import redis_channel_layer
from tests.services import missing, run_django


def next_database(url: str) -> str:
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{number + 1}"))


@pytest.fixture
def shards(redis_url):
    """Two Redis URLs and a key prefix of this test's own; its keys are deleted afterwards."""
    urls = [redis_url, next_database(redis_url)]
    clients = [redis.Redis.from_url(u, socket_connect_timeout=2) for u in urls]
    try:
        clients[1].ping()
    except redis.RedisError:
        missing(f"Redis database {urls[1]} (the second shard)")
    prefix = f"asgi-shards-{uuid.uuid4().hex[:8]}"
    yield urls, prefix, clients
    for client in clients:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


def layer_on(urls: list[str], prefix: str):
    """A layer instance (one process) configured as production configures it."""
    config = redis_channel_layer(urls)
    return import_string(config["BACKEND"])(**{**config["CONFIG"], "prefix": prefix})


def process_on_shard(urls, prefix, shard: int):
    """A process whose channels live on ``shard``: channels hash by the process's prefix."""
    for _ in range(200):
        layer = layer_on(urls, prefix)
        if layer.consistent_hash(f"specific.{layer.client_prefix}!") == shard:
            return layer
    raise AssertionError(f"no channel prefix hashed to shard {shard}")


def group_on_shard(layer, shard: int) -> str:
    return next(f"group-{i}" for i in range(1000) if layer.consistent_hash(f"group-{i}") == shard)


def keys(client, prefix: str) -> set[str]:
    return {k.decode() for k in client.scan_iter(f"{prefix}*")}


@pytest.mark.redis
async def test_group_send_reaches_channels_on_both_shards_and_keys_are_on_both(shards):
    urls, prefix, clients = shards
    first, second = process_on_shard(urls, prefix, 0), process_on_shard(urls, prefix, 1)
    sender = layer_on(urls, prefix)  # a third process, as a Celery worker would be
    groups = [group_on_shard(sender, 0), group_on_shard(sender, 1)]
    on_first, on_second = await first.new_channel(), await second.new_channel()
    try:
        for group in groups:
            await first.group_add(group, on_first)
            await second.group_add(group, on_second)
        for group in groups:
            await sender.group_send(group, {"type": "journeys.event", "group": group})

        # Before anyone reads: each group's membership on its own host, each process's
        # queued messages on its own host, nothing anywhere else.
        assert keys(clients[0], prefix) == {
            f"{prefix}:group:{groups[0]}",
            f"{prefix}specific.{first.client_prefix}!",
        }
        assert keys(clients[1], prefix) == {
            f"{prefix}:group:{groups[1]}",
            f"{prefix}specific.{second.client_prefix}!",
        }

        for layer, channel in ((first, on_first), (second, on_second)):
            got = [await asyncio.wait_for(layer.receive(channel), 10) for _ in groups]
            assert sorted(m["group"] for m in got) == sorted(groups)
    finally:
        for layer in (first, second, sender):
            await layer.flush()


def settings_seen(env: dict[str, str]):
    code = (
        "import json\nfrom django.conf import settings as s\n"
        "print(json.dumps({'layer': [h['address'] for h in "
        "s.CHANNEL_LAYERS['default']['CONFIG']['hosts']], 'cache': s.CACHES['default']['LOCATION'], "
        "'presence': s.PRESENCE_REDIS_URL, 'broker': s.CELERY_BROKER_URL}))"
    )
    return run_django(
        code,
        {
            "DJANGO_SETTINGS_MODULE": "supportgroup.settings.production",
            "SECRET_KEY": "test-only-key-for-settings",
            **env,
        },
    )


def test_channel_redis_urls_shard_the_layer_only():
    result = settings_seen(
        {
            "REDIS_URL": "redis://main.internal:6379/0",
            "CHANNEL_REDIS_URLS": "redis://ch1.internal:6379/0,redis://ch2.internal:6379/0",
        }
    )

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["layer"] == ["redis://ch1.internal:6379/0", "redis://ch2.internal:6379/0"]
    # Presence, the cache and Celery stay on REDIS_URL.
    assert seen["cache"] == seen["presence"] == seen["broker"] == "redis://main.internal:6379/0"


def test_without_channel_redis_urls_the_layer_is_on_redis_url():
    result = settings_seen({"REDIS_URL": "redis://main.internal:6379/0"})

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["layer"] == ["redis://main.internal:6379/0"]


def test_channel_redis_urls_without_redis_url_is_refused():
    result = settings_seen({"CHANNEL_REDIS_URLS": "redis://ch1.internal:6379/0"})

    assert result.returncode != 0
    assert "CHANNEL_REDIS_URLS needs REDIS_URL" in result.stderr
