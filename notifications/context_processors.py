"""The header's bell, on every page (``TEMPLATES`` context processors)."""

from django.utils.functional import cached_property

from .selectors import unread_count


class NotificationBell:
    """The header's bell: the unread count, read only if a template asks for it.

    A page that never shows the bell (the admin, an error page, a signed-out visitor's
    page) costs no query for it; a page that does costs one.
    """

    def __init__(self, user) -> None:
        self._user = user

    @cached_property
    def unread(self) -> int:
        return unread_count(self._user)


def notifications(request):
    return {"notifications_bell": NotificationBell(getattr(request, "user", None))}
