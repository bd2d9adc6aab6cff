"""The notification preferences form: a checkbox per kind, and quiet hours."""

from __future__ import annotations

from django import forms

from .models import MODERATOR_KINDS, Kind, NotificationPreferences

TIME_WIDGET = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")

HELP = {
    Kind.REPORT: (
        "Reports that a member may be in crisis always reach you, whatever you choose here, "
        "and also during quiet hours."
    ),
    Kind.MODERATOR_NOTE: "A note from a group's moderators also comes by email.",
}


def field_name(kind: str) -> str:
    return f"kind_{kind}"


class NotificationPreferencesForm(forms.Form):
    """``moderates``: whether the person moderates a group (its kinds are shown only then)."""

    quiet_start = forms.TimeField(
        required=False,
        label="Quiet hours start",
        widget=TIME_WIDGET,
        error_messages={"invalid": "Please enter a time like 22:00."},
    )
    quiet_end = forms.TimeField(
        required=False,
        label="Quiet hours end",
        widget=TIME_WIDGET,
        error_messages={"invalid": "Please enter a time like 07:00."},
    )

    def __init__(self, *args, prefs: NotificationPreferences, moderates: bool, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "quiet_start": prefs.quiet_start,
                "quiet_end": prefs.quiet_end,
                **{field_name(k): prefs.wants(k) for k in Kind.values},
            },
        )
        super().__init__(*args, **kwargs)
        self.prefs = prefs
        kinds = [k for k in Kind if moderates or k not in MODERATOR_KINDS]
        # The kinds first, in the order of the model's choices; quiet hours after them.
        quiet = {name: self.fields.pop(name) for name in ("quiet_start", "quiet_end")}
        for kind in kinds:
            self.fields[field_name(kind)] = forms.BooleanField(
                required=False, label=kind.label, help_text=HELP.get(kind, "")
            )
        self.fields.update(quiet)
        self.kinds = kinds

    def kind_fields(self):
        return [self[field_name(k)] for k in self.kinds]

    def quiet_fields(self):
        return [self["quiet_start"], self["quiet_end"]]

    def clean(self):
        data = super().clean()
        start, end = data.get("quiet_start"), data.get("quiet_end")
        if "quiet_start" in self.errors or "quiet_end" in self.errors:
            return data
        if (start is None) != (end is None):
            # Next to the empty one, so it is marked and read where the person looks.
            self.add_error(
                "quiet_end" if end is None else "quiet_start",
                "Quiet hours need both a start and an end time, or leave both empty to have none.",
            )
            return data
        if start is not None and start == end:
            raise forms.ValidationError(
                "Quiet hours start and end at the same time. Choose two different times, "
                "or leave both empty to have none."
            )
        return data

    def off_kinds(self) -> list[str]:
        """The kinds turned off; kinds not shown on the form keep their current choice."""
        shown = set(self.kinds)
        kept = [k for k in self.prefs.off_kinds if k not in shown]
        return kept + [k for k in self.kinds if not self.cleaned_data.get(field_name(k))]
