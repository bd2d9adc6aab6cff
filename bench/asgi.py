"""The project's ASGI application plus the bench-only floor socket (bench/floor.py)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from channels.routing import ProtocolTypeRouter  # noqa: E402

from supportgroup.asgi import application as project  # noqa: E402

from .floor import FloorConsumer  # noqa: E402

FLOOR_PATH = "/ws/bench/floor/"
_floor = FloorConsumer.as_asgi()
_sockets = project.application_mapping["websocket"]


async def websocket(scope, receive, send):
    app = _floor if scope["path"] == FLOOR_PATH else _sockets
    return await app(scope, receive, send)


application = ProtocolTypeRouter(
    {"http": project.application_mapping["http"], "websocket": websocket}
)
