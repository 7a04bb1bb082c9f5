"""The header is the players': Play, Benchmark and the account. The API's schema is for programs and is linked from
the benchmark page's downloads, not from every page's navigation."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/stats", "/profile"])
def test_the_header_has_no_api_link(path: str):
    page = Client().get(path).content.decode()
    header = re.search(r"<header.*?</header>", page, re.S)
    assert header is not None
    assert "/api/schema" not in header.group(0) and ">API<" not in header.group(0)


def test_the_benchmark_page_links_the_schema_among_its_downloads():
    page = Client().get("/stats").content.decode()
    downloads = re.search(r'<section aria-labelledby="downloads-title">.*?</section>', page, re.S)
    assert downloads is not None and 'href="/api/schema"' in downloads.group(0)
