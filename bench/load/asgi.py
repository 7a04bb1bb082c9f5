"""The web server bench/load plays against: the game's ASGI application under the game's own settings, plus
one route the game does not have, and logging that puts in the server's log what the benchmark counts.

/bench/bare is the baseline of the throughput ratio: a bare Django JSON view served by the same process,
through the same middleware. It comes from Django's per-request URLconf (`request.urlconf`: this module's
`urlpatterns`, the game's behind it), so neither gameserver/ nor its settings carry a benchmark route.

    uvicorn bench.load.asgi:application     (bench/load/stack.py starts it; daphne likewise)
"""

import logging.config

from channels.routing import ProtocolTypeRouter
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, JsonResponse
from django.urls import path

from gameserver.asgi import OneThreadHandler
from gameserver.asgi import application as game_application  # sets Django up with gameserver.settings
from gameserver.urls import urlpatterns as game_urlpatterns


def bare(request: HttpRequest) -> JsonResponse:
    # No database, session or template work: what any Django JSON view costs at least on this server.
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare), *game_urlpatterns]


class BenchRequest(ASGIRequest):
    urlconf = __name__


class BenchHandler(OneThreadHandler):
    request_class = BenchRequest


application = ProtocolTypeRouter({**game_application.application_mapping, "http": BenchHandler()})

# Django prints a 500's traceback only with DEBUG on; the benchmark runs with DEBUG off and wants them in the
# log. channels_redis says only at INFO that it dropped events ("channels over capacity"): the benchmark counts
# them. Configured after Django's own logging (set up above), in every server process that loads this module.
logging.config.dictConfig(
    {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"console": {"class": "logging.StreamHandler"}},
        "loggers": {
            "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
            "channels_redis": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
)
