"""A small, lived-in group for the page-by-page browser checks (axe, zoom, screenshots).

``build_world()`` writes it to the (transactional) test database; ``MAIN_PAGES`` names
every main page of the site with who looks at it, so each check walks the same list.
"""

from __future__ import annotations

from dataclasses import dataclass

from journeys.services import moderation as moderation_services
from journeys.services import reflections as svc
from tests.factories import GroupFactory, MembershipFactory, WeeklyThemeFactory


@dataclass(frozen=True)
class MainPage:
    name: str
    who: str  # "visitor" (signed out), "member" or "owner" (the group's owner, a moderator)
    path: str  # formatted with the world: {slug}, {theme}, {reflection}


MAIN_PAGES = [
    MainPage("home", "visitor", "/"),
    MainPage("help", "visitor", "/help/"),
    MainPage("sign in", "visitor", "/accounts/login/"),
    MainPage("sign up", "visitor", "/accounts/signup/"),
    MainPage("directory", "visitor", "/groups/"),
    MainPage("group public page", "visitor", "/groups/{slug}/"),
    MainPage("my groups", "member", "/groups/mine/"),
    MainPage("group home", "member", "/groups/{slug}/"),
    MainPage("theme with reflections", "member", "/groups/{slug}/themes/{theme}/"),
    MainPage("weeks", "member", "/groups/{slug}/themes/"),
    MainPage("reflection and replies", "member", "/groups/{slug}/reflections/{reflection}/"),
    MainPage("my journey", "member", "/groups/{slug}/my-journey/"),
    MainPage("my settings in the group", "member", "/groups/{slug}/me/"),
    MainPage("members", "member", "/groups/{slug}/members/"),
    MainPage("group help", "member", "/groups/{slug}/help/"),
    MainPage("email preferences", "member", "/accounts/emails/"),
    MainPage("account", "member", "/accounts/profile/"),
    MainPage("email addresses", "member", "/accounts/email/"),
    MainPage("change password", "member", "/accounts/password/change/"),
    MainPage("two-factor", "member", "/accounts/2fa/"),
    MainPage("sessions", "member", "/accounts/sessions/"),
    MainPage("my data", "member", "/accounts/my-data/"),
    MainPage("notifications", "member", "/notifications/"),
    MainPage("notification preferences", "member", "/notifications/preferences/"),
    MainPage("review queue", "owner", "/groups/{slug}/moderation/"),
    MainPage("schedule", "owner", "/groups/{slug}/schedule/"),
    MainPage("new one-off theme", "owner", "/groups/{slug}/schedule/themes/new/"),
    MainPage("group settings", "owner", "/groups/{slug}/settings/"),
    MainPage("invitations", "owner", "/groups/{slug}/invitations/"),
    MainPage("join requests", "owner", "/groups/{slug}/requests/"),
    MainPage("start a group", "owner", "/groups/new/"),
]
# The pages text zoom is checked on: the ones a member opens on a phone most.
ZOOM_PAGES = [
    p
    for p in MAIN_PAGES
    if p.name
    in {
        "home",
        "help",
        "sign in",
        "sign up",
        "directory",
        "group home",
        "theme with reflections",
        "reflection and replies",
        "my journey",
        "members",
        "email preferences",
        "account",
        "my data",
        "notifications",
        "review queue",
        "schedule",
        "group settings",
    }
]


def build_world() -> dict:
    """A group that asks for approval, with its second week under way, as members live it.

    Alma wrote three reflections (one behind a content note, one answering a prompt),
    Bea encouraged and replied, Cleo reported one (it waits in the review queue), and
    Alma tried the week's practice.
    """
    group = GroupFactory(
        name="Thursday evening circle",
        slug="thursday-circle",
        description="A small group for people grieving a parent. We meet in writing, at our own pace.",
    )
    owner = MembershipFactory(group=group, role="owner", display_name="Rosa (moderator)")
    alma = MembershipFactory(group=group, display_name="Alma")
    bea = MembershipFactory(group=group, display_name="Bea")
    cleo = MembershipFactory(group=group, display_name="Cleo")
    WeeklyThemeFactory(group=group, title="Arriving as you are")
    theme = WeeklyThemeFactory(
        group=group,
        title="Small comforts",
        summary=(
            "Grief comes in waves. This week we notice the small things that make a hard "
            "evening a little softer: a warm drink, a walk, a voice on the phone."
        ),
        practice="Once a day, write down one small thing that helped, however small.",
        reminder="There is no right way to do this. Skipping a day is fine.",
        prompts=["What helped this week?", "When was it hardest?"],
    )
    first, _ = svc.reflection_create(
        member=alma,
        theme=theme,
        body="I made Dad's soup on Sunday. I cried the whole time, but it felt like he was there.",
        prompt="What helped this week?",
    )
    svc.reflection_create(
        member=bea,
        theme=theme,
        body="Walking to work instead of taking the bus. Twenty minutes where nobody needs me.",
    )
    noted, _ = svc.reflection_create(
        member=alma,
        theme=theme,
        body="The anniversary is next week and I keep replaying the hospital.",
        content_note="hospital memories",
        witness_only=True,
    )
    svc.reflection_create(
        member=alma,
        theme=theme,
        body="Only for me: I am more tired than I let on.",
        visibility="private",
    )
    svc.encouragement_toggle(member=bea, reflection=first, kind="hear")
    svc.encouragement_toggle(member=cleo, reflection=first, kind="strength")
    svc.reply_create(
        member=bea, reflection=first, body="That soup sounds like love. Thank you for sharing it."
    )
    svc.reply_create(member=cleo, reflection=first, body="Sending strength for the anniversary.")
    svc.checkin_save(member=alma, theme=theme, note="Tea on the balcony.")
    reported, _ = svc.reflection_create(
        member=bea, theme=theme, body="People who say time heals have no idea. Stop saying it."
    )
    moderation_services.report_create(member=cleo, item=reported, reason="unkind")
    return {
        "group": group,
        "owner": owner,
        "alma": alma,
        "bea": bea,
        "cleo": cleo,
        "theme": theme,
        "reflection": first,
        "noted": noted,
        "reported": reported,
    }


def url_of(page: MainPage, world: dict, base: str) -> str:
    return base + page.path.format(
        slug=world["group"].slug, theme=world["theme"].pk, reflection=world["reflection"].pk
    )


def user_for(page: MainPage, world: dict):
    """Who looks at ``page``: None for a visitor, else the user (Alma, or the owner)."""
    return {"visitor": None, "member": world["alma"].user, "owner": world["owner"].user}[page.who]
