import pytest
from channels.testing import WebsocketCommunicator

from supportgroup.asgi import application


@pytest.mark.django_db(transaction=True)
async def test_websocket_from_foreign_origin_is_refused():
    foreign = WebsocketCommunicator(
        application, "/ws/ping/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await foreign.connect()
    assert connected is False
    await foreign.disconnect()

    # The same route from the site's own origin works, so the refusal above is the origin check.
    own = WebsocketCommunicator(
        application, "/ws/ping/", headers=[(b"origin", b"http://localhost")]
    )
    connected, _ = await own.connect()
    assert connected is True
    await own.send_json_to({"type": "ping"})
    assert await own.receive_json_from() == {"type": "pong"}
    await own.disconnect()
