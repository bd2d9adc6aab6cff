"""The audit trail: one entry per moderator, owner or membership action in a group.

An entry never holds member-written text. It names people and things by a
pseudonymous label written with the entry ("member #12", "user #7"), so it still
reads after an account has been erased, and says nothing about who they were.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models

from supportgroup.text import typed

from ..models import AuditAction, AuditEvent, Group

REASON_MAX_LENGTH = AuditEvent._meta.get_field("reason").max_length

# Nouns for labels, by model; any other model is named by its verbose name.
_NOUNS = {
    "groups.membership": "member",
    "journeys.weeklytheme": "theme",
    settings.AUTH_USER_MODEL.lower(): "user",
}
# What ``data`` may hold: identifiers (field names, roles), never prose.
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,39}")


def pseudonym(obj: models.Model) -> str:
    """``"member #12"``: the kind of thing and its id, never a name, an email or any text."""
    meta = obj._meta
    return f"{_NOUNS.get(meta.label_lower, str(meta.verbose_name))} #{obj.pk}"


def clean_reason(reason: str) -> str:
    """A moderator's reason as stored (and checked) everywhere: plain, at most 500 characters."""
    reason = typed(reason)
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": f"Please keep the reason to {REASON_MAX_LENGTH} characters or fewer."}
        )
    return reason


def _clean_data(data: dict[str, Any] | None) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if not isinstance(key, str) or not _IDENTIFIER.fullmatch(key):
            raise ValueError(f"audit data keys are identifiers (got {key!r})")
        values = list(value) if isinstance(value, list | tuple) else [value]
        for v in values:
            if v is None or isinstance(v, bool | int):
                continue
            if isinstance(v, str) and _IDENTIFIER.fullmatch(v):
                continue
            raise ValueError(f"audit data holds identifiers only, not text (key {key!r})")
        cleaned[key] = values if isinstance(value, list | tuple) else value
    return cleaned


def _check_target(group: Group, target: models.Model) -> None:
    if not isinstance(target, models.Model) or target.pk is None:
        raise ValueError("An audit target is a saved model instance.")
    if isinstance(target, Group):
        in_group = target.pk == group.pk
    else:
        in_group = getattr(target, "group_id", group.pk) == group.pk
    if not in_group:
        raise ValueError("An audit target belongs to the group the entry is about.")


def audit_record(
    *,
    group: Group,
    actor,
    action: AuditAction | str,
    target: models.Model,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one entry. ``action`` is an ``AuditAction``; anything else raises ValueError.

    ``reason`` is a moderator's optional short note (plain text, at most 500
    characters); ``data`` holds identifiers only (roles, field names, flags).
    The target may be deleted later (a declined request): the entry keeps its type,
    id and label.
    """
    try:
        action = AuditAction(action)
    except ValueError:
        raise ValueError(f"Unknown audit action: {action!r}") from None
    _check_target(group, target)
    return AuditEvent.objects.create(
        group=group,
        actor=actor,
        actor_label=pseudonym(actor) if actor is not None else "",
        action=action,
        target_type=ContentType.objects.get_for_model(target),
        target_id=target.pk,
        target_label=pseudonym(target),
        reason=clean_reason(reason),
        data=_clean_data(data),
    )
