"""Every WebSocket route of the project."""

from django.urls import path

from journeys.consumers import GroupFeedConsumer
from supportgroup.consumers import PingConsumer

websocket_urlpatterns = [
    # Lets an operator check that WebSockets pass through the proxy.
    path("ws/ping/", PingConsumer.as_asgi()),
    # The live feed of one group page.
    path("ws/groups/<slug:slug>/", GroupFeedConsumer.as_asgi()),
]
