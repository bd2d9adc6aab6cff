"""One ASGI application for HTTP and WebSockets."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportgroup.settings.dev")

# Django must be set up before importing consumers (they import models).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from supportgroup import shutdown  # noqa: E402
from supportgroup.routing import websocket_urlpatterns  # noqa: E402
from supportgroup.socket_auth import SocketAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            SocketAuthMiddleware(URLRouter(websocket_urlpatterns))
        ),
    }
)

# Under daphne: on SIGTERM, open sockets are told to reconnect before connections drop.
shutdown.install()
