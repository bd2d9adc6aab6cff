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


if os.environ.get("BENCH_MEMTRACE_DIR"):  # bench/memtrace.py: snapshots on SIGUSR2
    import signal
    import tracemalloc
    from pathlib import Path

    def _dump(*_):
        where = Path(os.environ["BENCH_MEMTRACE_DIR"])
        name = (where / "next").read_text().strip()
        tracemalloc.take_snapshot().dump(str(where / f"{name}.snap"))
        (where / f"{name}.done").write_text("")

    signal.signal(signal.SIGUSR2, _dump)

application = ProtocolTypeRouter(
    {"http": project.application_mapping["http"], "websocket": websocket}
)
