"""Every /api/ error is JSON with a safe message: 400, 403 (CSRF included), 404, 405, 413, 429 and 500 alike.
Nothing from inside the server (a traceback, a local variable, a query) reaches a client, DEBUG or not. The one
exception is a page a view wrote on purpose for a browser (`BROWSER_PAGE` set on the response: an export link
followed from the benchmark page by someone who may not export)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponseBase, JsonResponse

logger = logging.getLogger(__name__)
API_PREFIX = "/api/"
# Headers of an error response that the client needs and that say nothing about the server's inside.
KEPT_HEADERS = ("Allow", "Retry-After", "Vary")
# The attribute a view sets on an error response that is a page of its own for a browser, to be kept as it is.
BROWSER_PAGE = "browser_page"


class ApiErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json") or getattr(response, BROWSER_PAGE, False):
            return response
        # A Django error page (404, 405, CSRF's 403, a 400 for a bad host or cookie): the same status as JSON.
        replaced = JsonResponse({"error": _phrase(response.status_code)}, status=response.status_code)
        for header in KEPT_HEADERS:
            if header in response:
                replaced[header] = response[header]
        return replaced

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase | None:
        if not request.path.startswith(API_PREFIX):
            return None  # pages keep Django's own handling (a plain 500 page when DEBUG is off)
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"error": "the request body is too large"}, status=413)
        logger.error("internal error on %s %s", request.method, request.path, exc_info=exception)
        return JsonResponse({"error": "internal server error"}, status=500)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"
