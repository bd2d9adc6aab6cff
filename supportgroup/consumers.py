from channels.generic.websocket import JsonWebsocketConsumer


class PingConsumer(JsonWebsocketConsumer):
    """Answers every frame with a pong: an end-to-end WebSocket check."""

    def connect(self) -> None:
        self.accept()

    def receive_json(self, content, **kwargs) -> None:
        self.send_json({"type": "pong"})
