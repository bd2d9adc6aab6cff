from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from groups.models import Membership
from supportgroup.accounts.models import User
from supportgroup.forms import NoColonMixin

from .models import WEEKDAYS, EmailPreferences, Encouragement, Journey, Visibility
from .services.reflections import CONTENT_NOTE_MAX, REFLECTION_MAX, REPLY_MAX

# Markup of unbound forms, by shape (``rendered``). A page shows the same empty composer
# to every member of a group; Django's widget templates were a tenth of the group home.
_UNBOUND_HTML: dict[tuple, SafeString] = {}
_UNBOUND_HTML_MAX = 512


def _shape(form: forms.Form, template_name: str) -> tuple:
    """What an unbound form's markup depends on: its class, its fields with their choices
    and initial values, its prefix and ids, and the language."""
    return (
        template_name,
        type(form),
        form.prefix,
        form.auto_id,
        form.label_suffix,
        get_language(),
        tuple(
            (
                name,
                repr(getattr(field, "choices", None)),
                repr(form.get_initial_for_field(field, name)),
            )
            for name, field in form.fields.items()
        ),
    )


def rendered(form: forms.Form, template_name: str = "") -> SafeString:
    """``form`` rendered with ``template_name`` (a template given ``form``), or ``as_p()``.

    A bound form (what the member wrote, with the reasons it was refused) is rendered each
    time; an unbound one once per shape (``_shape``): it holds nothing of the request."""

    def render() -> SafeString:
        if template_name:
            return mark_safe(render_to_string(template_name, {"form": form}))  # noqa: S308 - a template's output
        return form.as_p()

    if form.is_bound:
        return render()
    key = _shape(form, template_name)
    html = _UNBOUND_HTML.get(key)
    if html is None:
        if len(_UNBOUND_HTML) >= _UNBOUND_HTML_MAX:
            _UNBOUND_HTML.clear()
        html = _UNBOUND_HTML[key] = render()
    return html


class ReflectionForm(NoColonMixin, forms.Form):
    """Limits are checked by the service (clear message, text kept); no maxlength cuts text silently."""

    prompt = forms.ChoiceField(required=False, label="Answering a question (optional)")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Your reflection",
        strip=False,
        help_text=f"Plain text; links work. Up to {REFLECTION_MAX:,} characters.",
        error_messages={"required": "Your reflection is empty. Write a few words, then send it."},
    )
    visibility = forms.ChoiceField(
        choices=Visibility.choices,
        initial=Visibility.GROUP,
        widget=forms.RadioSelect,
        label="Who can see this",
    )
    content_note = forms.CharField(
        required=False,
        label="Content note (optional)",
        help_text=f"For example “grief” or “harsh words”. The text stays folded until someone taps to read it. Up to {CONTENT_NOTE_MAX} characters.",
    )
    is_anonymous = forms.BooleanField(
        required=False,
        label="Post anonymously (members see “A member”; moderators still see who you are, for safety)",
    )
    witness_only = forms.BooleanField(required=False, label="Witness only, please no advice")
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, theme=None, **kwargs):
        super().__init__(*args, **kwargs)
        prompts = list(theme.prompts) if theme else []
        self.fields["prompt"].choices = [("", "No particular question")] + [(p, p) for p in prompts]
        if not prompts:
            del self.fields["prompt"]


class ReflectionEditForm(ReflectionForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["client_id"]


class ReplyForm(NoColonMixin, forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reply",
        strip=False,
        help_text=f"Up to {REPLY_MAX:,} characters.",
        error_messages={"required": "Your reply is empty."},
    )
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)


class EncourageForm(forms.Form):
    kind = forms.ChoiceField(choices=Encouragement.Kind.choices)
    # A form posted twice (a double tap, a retried request) toggles once.
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)


class CheckInForm(NoColonMixin, forms.Form):
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="A private note (optional)",
        help_text="Only you can see this note.",
    )


class JourneyStartForm(NoColonMixin, forms.Form):
    journey = forms.ModelChoiceField(queryset=Journey.objects.order_by("title"), empty_label=None)
    start_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), label="Start on or after"
    )
    weekday = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, label="Day of the week")
    local_time = forms.TimeField(
        widget=forms.TimeInput(attrs={"type": "time"}), label="Time (group's time zone)"
    )


class ThemeForm(NoColonMixin, forms.Form):
    title = forms.CharField(max_length=120)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    practice = forms.CharField(
        required=False, label="Try this", widget=forms.Textarea(attrs={"rows": 3})
    )
    reminder = forms.CharField(
        required=False, label="Gentle reminder", widget=forms.Textarea(attrs={"rows": 2})
    )
    prompts = forms.CharField(
        required=False, label="Prompts (one per line)", widget=forms.Textarea(attrs={"rows": 3})
    )


class OneOffThemeForm(ThemeForm):
    # A draft first and by default: posting (members see it and are emailed) is a choice
    # someone makes, never what a form left as it was does.
    when = forms.ChoiceField(
        choices=[("draft", "Save as a draft"), ("later", "Schedule"), ("now", "Post now")],
        widget=forms.RadioSelect,
        initial="draft",
        label="When should it go out?",
    )
    publish_at = forms.DateTimeField(
        required=False,
        label="When (group's time zone)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )

    def clean(self):
        data = super().clean()
        if data.get("when") == "later" and not data.get("publish_at"):
            self.add_error("publish_at", "Choose when this theme should go out.")
        return data


class ScheduleThemeForm(NoColonMixin, forms.Form):
    publish_at = OneOffThemeForm.base_fields["publish_at"].__class__(
        label="When (group's time zone)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )


def _preference_field(name: str) -> forms.Field:
    return EmailPreferences._meta.get_field(name).formfield()


class EmailPreferenceForm(NoColonMixin, forms.ModelForm):
    """One group's block on the email preferences page.

    The instance is the membership, so the formset's hidden id ties each block to
    its group whatever the order on submit; the choices are its ``EmailPreferences``
    (the defaults when it has no row yet). ``preferences_save`` writes them: this
    form never saves.
    """

    digest_frequency = _preference_field("digest_frequency")
    digest_hour = _preference_field("digest_hour")
    theme_email = _preference_field("theme_email")

    class Meta:
        model = Membership
        fields: list[str] = []

    def __init__(self, *args, instance: Membership | None = None, initial=None, **kwargs):
        if instance is not None:
            prefs = EmailPreferences.of(instance)
            initial = {name: getattr(prefs, name) for name in EmailPreferences.FIELDS} | (
                initial or {}
            )
        super().__init__(*args, instance=instance, initial=initial, **kwargs)


EmailPreferencesFormSet = forms.modelformset_factory(
    Membership, form=EmailPreferenceForm, extra=0, can_delete=False
)


class PauseEmailForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = ["email_paused"]


# --- Moderation ------------------------------------------------------------------------------


class ReportForm(NoColonMixin, forms.Form):
    """The rules (which reasons, a note for "something else") are the service's."""

    reason = forms.ChoiceField(
        widget=forms.RadioSelect,
        label="What's the matter?",
        error_messages={"required": "Please choose one of the reasons."},
    )
    note = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Anything the moderators should know? (optional; needed for “Something else”)",
        help_text="Up to 500 characters. The author never sees who reported.",
    )

    def __init__(self, *args, reasons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = list(reasons)


class ModerationActionForm(NoColonMixin, forms.Form):
    """One action of the review queue; which fields matter depends on the action."""

    reason = forms.CharField(required=False, strip=False, label="Reason (optional)")
    body = forms.CharField(required=False, strip=False, widget=forms.Textarea, label="Note")
    days = forms.TypedChoiceField(
        required=False, coerce=int, choices=[(1, "1 day"), (3, "3 days"), (7, "7 days")]
    )


# --- Member tools: muting, blocking, topics kept collapsed -----------------------------------


class CollapsedTopicsForm(NoColonMixin, forms.Form):
    """Checked and cleaned by ``member_tools.collapsed_topics_save``."""

    topics = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Topics I always want collapsed",
        help_text="One per line, or separated by commas, for example “self-harm” or "
        "“estrangement”. A post whose content note mentions one starts folded away for you.",
    )


class QuietMemberForm(forms.Form):
    """Mute, block, unblock or unmute: from a post (its id), or from the list (the member)."""

    action = forms.ChoiceField(
        choices=[("mute", "Mute"), ("block", "Block"), ("unblock", "Unblock"), ("unmute", "Unmute")]
    )
    reflection = forms.IntegerField(required=False, min_value=1)
    reply = forms.IntegerField(required=False, min_value=1)
    member = forms.IntegerField(required=False, min_value=1)
    next = forms.CharField(required=False)
