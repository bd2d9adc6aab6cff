from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "supportgroup.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from allauth.account.signals import password_changed, password_reset, password_set
        from allauth.mfa.signals import authenticator_added
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from . import services
        from .sessions import seed_session

        def remember_session(sender, request, user, **kwargs) -> None:
            """A new sign-in: the seed its sockets will be known by (supportgroup/accounts/sessions.py)."""
            if request is not None and hasattr(request, "session"):
                seed_session(request.session)

        def close_this_sessions_sockets(sender, request, user, **kwargs) -> None:
            """Signing out closes the sockets of this browser; other devices stay signed in."""
            if user is not None:
                session = getattr(request, "session", None)
                services.sockets_close(user_id=user.pk, only=session)

        def end_other_sessions(sender, request, user, **kwargs) -> None:
            """A new password (changed, set or reset) signs the person out everywhere else.

            The browser that changed it stays signed in, with its sockets; a reset done
            while signed out (or as someone else) keeps nothing.
            """
            services.password_changed_sessions_end(user_id=user.pk, request=request)

        def two_factor_set_up(sender, request, user, authenticator, **kwargs) -> None:
            """An authenticator app set up: this session just proved it holds the app.

            Entering the app's first code is the same proof as entering one at sign-in,
            so this session counts as two-factor (``selectors.session_passed_two_factor``).
            Every other session was signed in with the password alone: they end, or a
            password-only session from before would open staff pages once the app exists.
            """
            if authenticator.type != authenticator.Type.TOTP or request is None:
                return
            services.session_mark_two_factor(
                request=request, user=user, authenticator=authenticator
            )
            services.other_sessions_end(user_id=user.pk, current=request.session)

        user_logged_in.connect(remember_session, weak=False, dispatch_uid="seed_socket_session")
        user_logged_out.connect(
            close_this_sessions_sockets, weak=False, dispatch_uid="close_live_sockets_on_logout"
        )
        for signal in (password_changed, password_set, password_reset):
            signal.connect(end_other_sessions, weak=False, dispatch_uid="end_other_sessions")
        authenticator_added.connect(
            two_factor_set_up, weak=False, dispatch_uid="two_factor_set_up_ends_other_sessions"
        )
