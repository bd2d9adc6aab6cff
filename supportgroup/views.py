"""Site-wide pages: home, crisis resources, health."""

from __future__ import annotations

import asyncio
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

HEALTH_TIMEOUT = 3.0


def home(request):
    return render(request, "home.html")


def crisis_help(request):
    return render(request, "help.html", {"resources": settings.CRISIS_RESOURCES})


def _check_database() -> str:
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    return "ok"


def _check_cache() -> str:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return what was stored")
    cache.delete(key)
    return "ok"


async def _layer_round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, {"type": "healthz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "healthz.ping":
        raise RuntimeError("channel layer returned a different message")


def _check_channel_layer() -> str:
    async def run() -> None:
        await asyncio.wait_for(_layer_round_trip(), HEALTH_TIMEOUT)

    async_to_sync(run)()
    return "ok"


@never_cache
@require_GET
def healthz(request):
    checks = {
        "database": _check_database,
        "cache": _check_cache,
        "channel_layer": _check_channel_layer,
    }
    result: dict[str, str] = {}
    for name, check in checks.items():
        try:
            result[name] = check()
        except Exception as exc:  # noqa: BLE001 - any failure means "down"
            result[name] = f"down: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in result.values())
    return JsonResponse(
        {"status": "ok" if healthy else "down", "checks": result},
        status=200 if healthy else 503,
    )
