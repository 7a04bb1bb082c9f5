"""Text no database column can hold: a NUL character (PostgreSQL refuses it with a DataError) or a lone surrogate
(UTF-8 has none). A request carrying one in its path, query, cookies or form is answered 400 here, before any
view looks anything up (JSON under /api/); JSON bodies are checked where they are parsed (views.json_body)."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

from gameserver.games.middleware import API_PREFIX

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def text_unstorable(value: object) -> bool:
    """Whether `value` holds unstorable text: a string, or lists, tuples and dicts of them (keys too) at any
    depth, as JSON parses. Walked without recursion: a JSON body may nest as deep as the parser allows."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return False


class UnstorableTextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        part = _unstorable_part(request)
        if part is None:
            return self.get_response(request)
        message = f"the request's {part} holds a NUL character or a lone surrogate"
        if request.path.startswith(API_PREFIX):
            return JsonResponse({"error": message}, status=400)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _unstorable_part(request: HttpRequest) -> str | None:
    if text_unstorable(request.path):
        return "path"
    if text_unstorable(list(request.GET.lists())):
        return "query"
    if text_unstorable(request.COOKIES):
        return "cookies"
    # Reading the form here parses it no earlier than the CSRF check would (it reads POST on every POST).
    if request.method == "POST" and request.content_type in FORM_TYPES:
        names = [upload.name for _, uploads in request.FILES.lists() for upload in uploads]
        if text_unstorable(list(request.POST.lists())) or text_unstorable(names):
            return "form"
    return None
