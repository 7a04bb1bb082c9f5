"""The win-rate plot draws an interval only where the table gives one: where too few panoramas or players allow no
cluster interval, the table shows the rate alone, and the plot drew the naive Wilson bar as if it were one."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Route, expect


def test_no_interval_is_drawn_where_the_table_gives_none(page: Page) -> None:
    def one_row_without_an_interval(route: Route) -> None:
        response = route.fetch()
        tables = response.json()
        street = tables["thresholds"][0]
        street.update(
            human_win_rate=0.5,
            low=None,
            high=None,
            wilson_low=0.3,
            wilson_high=0.7,
            decided=10,
            human_wins=5,
            model_wins=5,
            reported=True,
        )
        route.fulfill(response=response, json=tables)

    page.route(re.compile(r"/api/stats/benchmark\?"), one_row_without_an_interval)
    page.goto("/stats")
    expect(page.locator("#winrate-plot circle.estimate[data-row=Street]")).to_have_count(1)
    expect(page.locator("#threshold-table tbody tr").first.locator("td").nth(6)).to_have_text("50%")
    expect(page.locator("#winrate-plot line.interval[data-row=Street]")).to_have_count(0)
