from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "supportgroup.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from supportgroup import realtime

        def close_live_sockets(sender, request, user, **kwargs) -> None:
            """Logging out closes every open group socket of that person."""
            if user is not None:
                realtime.broadcast(
                    realtime.group_name("user", user.pk), {"type": "accounts.logged_out"}
                )

        user_logged_out.connect(
            close_live_sockets, weak=False, dispatch_uid="close_live_sockets_on_logout"
        )
