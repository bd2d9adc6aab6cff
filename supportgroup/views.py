"""Site-wide pages: home, crisis resources, the privacy notice and terms, health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

from asgiref.sync import sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from groups import permissions as group_permissions
from groups.models import Group

from . import shutdown
from .cache import round_trip
from .models import CrisisResource

logger = logging.getLogger(__name__)

# Each check gets this long; they run at the same time, so /healthz answers within ~2.5 s
# (load balancers commonly give up after 3 s).
HEALTH_TIMEOUT = 2.0


def home(request):
    return render(request, "home.html")


def crisis_help(request, slug: str | None = None):
    """Crisis lines for anyone, signed in or not; on a group's help, its own additions first.

    Never a 403 or 404: whoever cannot see the group (or follows an old link) still gets
    the site-wide list, without learning whether the group exists.
    """
    group = None
    if slug is not None:
        found = Group.objects.filter(slug=slug).first()
        if found is not None and group_permissions.can_see_group(request.user, found):
            group = found
    resources = CrisisResource.objects.for_help(group=group)
    return render(request, "help.html", {"resources": resources, "group": group})


def _policy_context() -> dict:
    # Who runs the site, from the environment (README, "Privacy and terms"); the templates
    # show a marked placeholder for anything a deployment has not set yet.
    return {
        "organisation": settings.POLICY_ORGANISATION,
        "contact_email": settings.POLICY_CONTACT_EMAIL,
        "jurisdiction": settings.POLICY_JURISDICTION,
        "min_age": settings.MIN_AGE,
        # The retention schedule's periods, as the daily pruning applies them (docs/privacy.md).
        "retention": {
            "handled_report_days": settings.RETENTION_HANDLED_REPORT_DAYS,
            "moderator_note_days": settings.RETENTION_MODERATOR_NOTE_DAYS,
            "audit_days": settings.RETENTION_AUDIT_DAYS,
            "digest_delivery_days": settings.RETENTION_DIGEST_DELIVERY_DAYS,
            "session_days": settings.RETENTION_SESSION_DAYS,
            "invitation_days": settings.RETENTION_INVITATION_DAYS,
            "notification_read_days": settings.RETENTION_NOTIFICATION_READ_DAYS,
            "notification_unread_days": settings.RETENTION_NOTIFICATION_UNREAD_DAYS,
        },
    }


def privacy(request):
    """The privacy notice: templates/pages/privacy.html, which operators edit."""
    return render(request, "pages/privacy.html", _policy_context())


def terms(request):
    """The terms of use: templates/pages/terms.html, which operators edit."""
    return render(request, "pages/terms.html", _policy_context())


def _check_database() -> None:
    try:
        for alias in connections:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
    finally:
        # A pool thread, not a request thread: nothing else would ever close these.
        for alias in connections:
            connections[alias].close()


def _check_cache() -> None:
    # The Redis cache falls back to memory when Redis is down (supportgroup/cache.py);
    # health must see Redis itself.
    check_redis = getattr(cache, "check_redis", None)
    if check_redis is not None:
        check_redis()
    else:
        round_trip(cache)


async def _layer_round_trip() -> None:
    # A layer instance of its own, not get_channel_layer(): the shared instance lets one
    # receive() at a time into Redis, and every idle socket of this process holds that turn
    # for up to 5 s (BZPOPMIN). A plain channel name (no "!") is read straight from Redis.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    try:
        channel = f"healthz.{uuid.uuid4().hex}"
        await layer.send(channel, {"type": "healthz.ping"})
        message = await layer.receive(channel)
        if message.get("type") != "healthz.ping":
            raise RuntimeError("channel layer returned a different message")
    finally:
        close_pools = getattr(layer, "close_pools", None)  # channels-redis; in-memory has none
        if close_pools is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(close_pools(), 0.5)


def _check_channel_layer() -> None:
    # On an event loop of its own, thrown away afterwards: channels-redis hooks the close of
    # every loop a layer instance has used, so a throwaway instance on daphne's loop would
    # stay referenced from that loop for the life of the process (one per health check).
    asyncio.run(asyncio.wait_for(_layer_round_trip(), HEALTH_TIMEOUT))


async def _run_check(check: Callable[[], None]) -> str:
    # thread_sensitive=False: a hung database or Redis holds up a pool thread of its own
    # (until its connect/socket timeout), never the thread every request and socket shares.
    try:
        await asyncio.wait_for(sync_to_async(check, thread_sensitive=False)(), HEALTH_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return f"down: {exc.__class__.__name__}"
    return "ok"


async def _health() -> JsonResponse:
    checks = {
        "database": _check_database,
        "cache": _check_cache,
        "channel_layer": _check_channel_layer,
    }
    outcomes = await asyncio.gather(*(_run_check(check) for check in checks.values()))
    result = dict(zip(checks, outcomes, strict=True))
    healthy = all(value == "ok" for value in result.values())
    if not healthy:
        # The probes' own access lines are at DEBUG (supportgroup/request_id.py): a failing
        # check is what an operator needs to see, once per probe while it lasts.
        logger.warning(
            "health check failed: %s",
            ", ".join(f"{name} {value}" for name, value in result.items() if value != "ok"),
        )
    return JsonResponse(
        {"status": "ok" if healthy else "down", "checks": result},
        status=200 if healthy else 503,
    )


@never_cache
@require_GET
async def healthz(request):
    """200 when the database, the cache and the channel layer all answer; 503 within ~2.5 s if not.

    Liveness: it stays 200 while the process drains (a supervisor must not restart it).
    """
    return await _health()


@never_cache
@require_GET
async def readyz(request):
    """Whether to send this process new requests: 503 at once while it drains (it is
    stopping, or ``DRAIN_FILE`` exists); otherwise what ``/healthz`` answers."""
    if shutdown.draining():
        return JsonResponse({"status": "draining"}, status=503)
    return await _health()
