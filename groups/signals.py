"""What groups' services announce, for apps that build on groups to answer.

groups/ never imports the apps built on it (journeys, notifications): its services
send these signals *inside their transaction*, so whatever a receiver writes commits or
rolls back with the change itself, and a receiver's error undoes the change. Receivers
take the keyword arguments listed with each signal; they are connected in their own
app's ``ready()`` (``notifications/receivers.py``).
"""

from django.dispatch import Signal

# A request to join waits for a moderator: a new one, or one asked again.
# Arguments: ``membership`` (pending, with ``group``).
join_requested = Signal()

# A moderator approved a request: ``membership`` (now active, with ``group``).
request_approved = Signal()

# A request stopped waiting without a moderator's approval: declined (``declined``
# True), withdrawn by its person, or let in by an email invitation meanwhile. Sent
# before a declined or withdrawn request's row is deleted. Arguments: ``membership``
# (still saved, with ``group``), ``declined``.
request_closed = Signal()

# An invitation was emailed: ``invitation`` (with ``group`` and its ``email``), ``by``
# (the user who sent it).
invitation_emailed = Signal()

# An invitation was revoked: ``invitation``.
invitation_revoked = Signal()

# A membership ended (left, removed or banned): ``membership`` (with ``group``), no
# longer active. Whatever was addressed to its person in the group is theirs no more.
membership_ended = Signal()

# A member's role changed: ``membership`` (with ``group`` and its new ``role``).
role_changed = Signal()
