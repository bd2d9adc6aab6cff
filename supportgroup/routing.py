"""Every WebSocket route of the project."""

from django.urls import path

from journeys.consumers import GroupFeedConsumer
from supportgroup.consumers import PingConsumer, UserConsumer

websocket_urlpatterns = [
    # Lets an operator check that WebSockets pass through the proxy.
    path("ws/ping/", PingConsumer.as_asgi()),
    # The live feed of one group page.
    path("ws/groups/<slug:slug>/", GroupFeedConsumer.as_asgi()),
    # One per signed-in page, whatever the page: alerts that follow a person (moderators).
    path("ws/me/", UserConsumer.as_asgi()),
]
