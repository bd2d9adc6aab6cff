"""Site-wide models of the project package: crisis resources."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, IntegerField, Value, When


def dial_string(number: str) -> str:
    """``number`` as a phone dials it: digits only, with a leading + kept ("+44 116 123" -> "+44116123").

    An international number written with its national trunk zero in brackets
    ("+44 (0)20 ...") drops that zero: dialled from abroad it would not connect.
    """
    number = number.strip()
    international = number.startswith("+")
    if international:
        number = number.replace("(0)", "")
    digits = re.sub(r"\D", "", number)
    if not digits:
        return ""
    return ("+" if international else "") + digits


class CrisisResourceQuerySet(models.QuerySet):
    def for_help(self, *, group=None) -> CrisisResourceQuerySet:
        """What a help page lists: the active site-wide resources, and ``group``'s own first."""
        if group is None:
            return self.filter(is_active=True, group__isnull=True).order_by("order", "name")
        return (
            self.filter(is_active=True)
            .filter(models.Q(group__isnull=True) | models.Q(group=group))
            .annotate(
                site_wide=Case(
                    When(group__isnull=True, then=Value(1)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            )
            .order_by("site_wide", "order", "name")
        )


class CrisisResource(models.Model):
    """A crisis line or urgent service shown on the help pages.

    Site-wide when ``group`` is empty; otherwise an addition shown first on that
    group's help page. Staff manage both in the admin: a wrong number on a crisis
    page does real harm, so these are not edited by group owners.
    """

    name = models.CharField(max_length=120)
    description = models.CharField(
        max_length=300, blank=True, help_text="One or two sentences: who it is for, what to expect."
    )
    phone = models.CharField(
        max_length=40, blank=True, help_text="As people read it, e.g. “116 123” or “+44 116 123”."
    )
    text_number = models.CharField(
        max_length=40, blank=True, help_text="A number that takes text messages (SMS), if any."
    )
    url = models.URLField("web address", blank=True)
    region = models.CharField(
        max_length=80, blank=True, help_text="Where it answers, e.g. “UK and Ireland”."
    )
    hours = models.CharField(max_length=80, blank=True, help_text="e.g. “24 hours, every day”.")
    group = models.ForeignKey(
        "groups.Group",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="crisis_resources",
        help_text="Leave empty for every page; choose a group to add it to that group's help only.",
    )
    order = models.PositiveIntegerField(default=100, help_text="Lower numbers come first.")
    is_active = models.BooleanField("active", default=True)

    objects = CrisisResourceQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        for field in ("phone", "text_number"):
            value = getattr(self, field)
            if value and not dial_string(value):
                errors[field] = "Please enter a number with digits, e.g. “116 123”."
        if errors:
            raise ValidationError(errors)

    @property
    def tel_href(self) -> str:
        number = dial_string(self.phone)
        return f"tel:{number}" if number else ""

    @property
    def sms_href(self) -> str:
        number = dial_string(self.text_number)
        return f"sms:{number}" if number else ""
