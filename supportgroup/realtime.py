"""The one place that pushes events to connected browsers.

Services call :func:`broadcast` inside their transaction; the push happens
after the commit (a rolled-back write is never announced). The database is the
source of truth: a channel layer failure is logged (without any member text)
and swallowed, and clients catch up from the database when they reconnect.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def group_name(kind: str, key: Any) -> str:
    """Channel-layer group names are ASCII only and short."""
    return f"{kind}.{key}"


def _send_now(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception as exc:  # noqa: BLE001 - live delivery is best effort
        logger.warning(
            "live push to %s failed (%s: type=%s); clients will catch up on reconnect",
            group,
            exc.__class__.__name__,
            message.get("type"),
        )


def broadcast(group: str, message: dict[str, Any]) -> None:
    """Send ``message`` to ``group`` once the current transaction commits."""
    transaction.on_commit(lambda: _send_now(group, message), robust=True)


async def send_ephemeral(group: str, message: dict[str, Any]) -> None:
    """Presence and typing signals: no database write, nothing to wait for, nothing to catch up on.

    Called from consumers (already async). Failures are logged like broadcasts.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, message)
    except Exception as exc:  # noqa: BLE001 - live delivery is best effort
        logger.warning("ephemeral push to %s failed (%s)", group, exc.__class__.__name__)
