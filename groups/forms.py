from django import forms

from supportgroup.forms import NoColonMixin

from .models import Group, Membership, StaffReport


class GroupForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = Group
        fields = ["name", "description", "guidelines", "is_listed", "join_policy", "time_zone"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "guidelines": forms.Textarea(attrs={"rows": 8}),
            "join_policy": forms.RadioSelect,
        }
        labels = {"is_listed": "Show this group in the directory"}


class GroupSettingsForm(GroupForm):
    class Meta(GroupForm.Meta):
        fields = [
            *GroupForm.Meta.fields,
            "allow_digest_excerpts",
            "slow_mode_seconds",
            "new_member_daily_posts",
            "report_threshold",
            "escalate_after_hours",
        ]


class JoinForm(NoColonMixin, forms.Form):
    display_name = forms.CharField(
        max_length=40,
        label="Your name in this group",
        help_text="Others in the group will see this name. It can be a nickname.",
    )
    accept_guidelines = forms.BooleanField(
        label="I have read the guidelines and will follow them.",
        error_messages={"required": "Please read and accept the group's guidelines to join."},
    )


class LinkInvitationForm(NoColonMixin, forms.Form):
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=90, initial=14, label="Valid for (days)"
    )
    max_uses = forms.IntegerField(
        min_value=1,
        required=False,
        label="How many people can use it",
        help_text="Leave empty for no limit.",
    )


class EmailInvitationForm(NoColonMixin, forms.Form):
    email = forms.EmailField(label="Email address")


class MemberSettingsForm(NoColonMixin, forms.ModelForm):
    class Meta:
        model = Membership
        fields = [
            "display_name",
            "show_presence",
            "show_typing",
        ]
        labels = {"display_name": "Your name in this group"}


class RoleForm(NoColonMixin, forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class StaffReportForm(NoColonMixin, forms.Form):
    """A report to the site's staff: about the whole group, or one of its moderators or owners."""

    about = forms.ModelChoiceField(
        queryset=Membership.objects.none(),
        required=False,
        empty_label="The whole group",
        label="Who or what is this about?",
    )
    reason = forms.ChoiceField(
        choices=StaffReport.Reason.choices,
        widget=forms.RadioSelect,
        label="What is happening?",
        error_messages={"required": "Please choose what this is about."},
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=StaffReport.NOTE_MAX,
        label="Anything the staff should know (optional)",
        help_text="Only the site's staff read this. The group's moderators and owners never see "
        "your report or who sent it.",
    )

    def __init__(self, *args, moderators, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["about"].queryset = moderators
        self.fields["about"].label_from_instance = lambda m: (
            f"{m.display_name} ({m.get_role_display().lower()})"
        )
