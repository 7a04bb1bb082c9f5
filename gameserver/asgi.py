"""HTTP through Django, websockets through Channels; one process or many behind one Redis."""

import os

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class OneThreadHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain built synchronous and entered once per request.

    Django builds the chain asynchronous under ASGI, and then every middleware that is not natively async (the
    project's, WhiteNoise's) and every `process_request`/`process_response` of Django's own MiddlewareMixin
    classes is a hop between the event loop and the request's thread (sync_to_async / async_to_sync), a dozen
    per request before the plain `def` view runs (profiled under load: bench/README.md). Here the whole chain
    and the view run in one call on the request's own thread (thread-sensitive: its database connection is the
    one request_finished closes), so a request makes one switch instead of one per middleware boundary."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        return response


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gameserver.settings")
django.setup(set_prefix=False)  # as get_asgi_application does
django_application = OneThreadHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from gameserver.realtime.handshake import UnstorableTextGuard  # noqa: E402
from gameserver.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        # No session or user middleware: the game socket only sends, by game id (realtime/consumers.py), so a
        # handshake reads the game's row and nothing else (channels' AuthMiddlewareStack read the session and the
        # user on every connect, off the event loop in a thread).
        "websocket": AllowedHostsOriginValidator(UnstorableTextGuard(URLRouter(websocket_urlpatterns))),
    }
)
