from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from supportgroup.timezones import time_zone_choices  # noqa: E402,F401 - migrations refer to it here


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        email = self.normalize_email(email)
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Logs in with their email; shows a display name to others."""

    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(
        max_length=40,
        help_text="How others see you. Each group can have its own name for you too.",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        choices=time_zone_choices,
        help_text="Used for email timing and dates shown to you.",
    )
    # Explicit consent to store sensitive personal reflections (GDPR art. 9).
    sensitive_data_consent_at = models.DateTimeField(null=True, blank=True)
    # When the person confirmed at sign-up that they are at least MIN_AGE years old.
    age_confirmed_at = models.DateTimeField(null=True, blank=True)
    email_paused = models.BooleanField(
        "Pause all email from groups",
        default=False,
        help_text="No digests or theme emails while this is on. Account emails (password reset) still arrive.",
    )
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Site-wide, set by staff (groups/services/staff.py): the person can still sign in and
    # read their groups, but not post, join or start a group (groups/permissions.py).
    suspended_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        verbose_name = "user"

    def __str__(self) -> str:
        return self.display_name or self.email

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name
