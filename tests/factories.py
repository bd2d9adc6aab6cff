import factory
from allauth.account.internal.flows.login import record_authentication
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.http import HttpRequest
from django.utils import timezone

from supportgroup.accounts.models import User

PASSWORD = "a-long-test-password-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    display_name = factory.Sequence(lambda n: f"Person {n}")
    time_zone = "UTC"

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)

    @factory.post_generation
    def two_factor(obj, create, extracted, **kwargs):
        # UserFactory(two_factor=True): an authenticator app set up, as staff must have
        # (supportgroup/accounts/middleware.py).
        if create and extracted:
            TOTP.activate(obj, generate_totp_secret())


def staff_login(client, user) -> None:
    """Sign ``client`` in as ``user`` the way staff sign in: password, then the app's code.

    ``force_login`` skips allauth's steps, so this also writes the ``mfa`` entry allauth
    records when the code is entered; staff pages refuse a session without it
    (supportgroup/accounts/middleware.py). ``user`` keeps needing an authenticator app
    (``UserFactory(two_factor=True)``): one is set up here if missing.
    """
    authenticator = Authenticator.objects.filter(
        user_id=user.pk, type=Authenticator.Type.TOTP
    ).first()
    if authenticator is None:
        authenticator = TOTP.activate(user, generate_totp_secret()).instance
    client.force_login(user)
    request = HttpRequest()
    request.session = client.session
    record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
    request.session.save()


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "groups.Group"

    name = factory.Sequence(lambda n: f"Circle {n}")
    slug = factory.Sequence(lambda n: f"circle-{n}")
    description = "A small circle."
    guidelines = "**Be kind.**"
    is_listed = True
    join_policy = "approval"
    time_zone = "Europe/London"
    # Members made by MembershipFactory join "now", so the first-day limit (5 posts by
    # default) would stop any test that posts more. tests/journeys/test_limits.py sets it.
    new_member_daily_posts = 0


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "groups.Membership"

    user = factory.SubFactory(UserFactory)
    group = factory.SubFactory(GroupFactory)
    role = "member"
    status = "active"
    display_name = factory.LazyAttribute(lambda m: m.user.display_name)
    joined_at = factory.LazyFunction(timezone.now)


class EmailPreferencesFactory(factory.django.DjangoModelFactory):
    """A member's saved email choices; without one, a membership has the defaults."""

    class Meta:
        model = "journeys.EmailPreferences"

    membership = factory.SubFactory(MembershipFactory)


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "groups.Invitation"

    group = factory.SubFactory(GroupFactory)


class WeeklyThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "journeys.WeeklyTheme"

    group = factory.SubFactory(GroupFactory)
    title = factory.Sequence(lambda n: f"Theme {n}")
    summary = "A few words about this week."
    practice = "Try a small thing."
    reminder = "Go gently."
    prompts = factory.LazyFunction(lambda: ["What comes up for you?", "What would help?"])
    status = "published"
    published_at = factory.LazyFunction(timezone.now)


class ReflectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "journeys.Reflection"

    theme = factory.SubFactory(WeeklyThemeFactory)
    group = factory.LazyAttribute(lambda r: r.theme.group)
    author = factory.SubFactory(MembershipFactory, group=factory.SelfAttribute("..group"))
    body = factory.Sequence(lambda n: f"Reflection text number {n}.")
    visibility = "group"


# What a person types into the sign-up form.
SIGNUP_FORM = {
    "email": "new.person@example.com",
    "display_name": "Rosa",
    "time_zone": "Europe/Lisbon",
    "password1": "a-very-calm-password-9",
    "password2": "a-very-calm-password-9",
    "consent": "on",
    "age_confirmed": "on",
}
