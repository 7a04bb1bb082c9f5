"""HTTP through Django, websockets through Channels; one process or many behind one Redis."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gameserver.settings")
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from gameserver.realtime.handshake import UnstorableTextGuard  # noqa: E402
from gameserver.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_application,
    "websocket": AllowedHostsOriginValidator(
        UnstorableTextGuard(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
})
