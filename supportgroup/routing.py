"""Every WebSocket route of the project."""

from django.urls import path

from supportgroup.consumers import PingConsumer

websocket_urlpatterns = [
    # Lets an operator check that WebSockets pass through the proxy.
    path("ws/ping/", PingConsumer.as_asgi()),
]
