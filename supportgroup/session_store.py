"""Django's database sessions, with the read every request and socket makes compiled once.

``SESSION_ENGINE = "supportgroup.session_store"``: the same table, rows and behaviour as
``django.contrib.sessions.backends.db`` (an unknown or expired key loads as an empty
session and drops the key). Only the read differs: building and compiling that query on
every request and every socket's connect was a measurable share of both (#11, P5, P7).
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from supportgroup.prepared import PreparedQuery

_SESSION = PreparedQuery(
    Session,
    lambda shape, *, session_key: Session.objects.filter(session_key=session_key).values_list(
        "session_data", "expire_date"
    ),
    strings=("session_key",),
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        key = self.session_key
        rows = _SESSION.run_values(None, session_key=key) if key else []
        if rows and rows[0][1] > timezone.now():
            data, expire_date = rows[0]
            return self.model(session_key=key, session_data=data, expire_date=expire_date)
        self._session_key = None
        return None
