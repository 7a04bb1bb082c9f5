"""Multi-view places: manifest rows sharing a `place_id` are the views of one panorama (its `view` column names
each, e.g. front/right/back/left). The import groups checked rows here, refusing a place whose views disagree
on the location, repeat a view name, are 360° panoramas or are too many."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from planet_engine.geo import distance_km

MAX_VIEWS = 12
MAX_VIEW_NAME = 40
# The views of one place were taken at one spot; GPS (or EXIF) noise of a few metres is the same spot.
SAME_PLACE_KM = 0.01


class PlaceRow(Protocol):
    @property
    def line(self) -> int: ...
    @property
    def place_id(self) -> str: ...
    @property
    def view(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...


Row = TypeVar("Row", bound=PlaceRow)


def places_group(rows: Sequence[Row], *, photo_kind: str) -> tuple[list[list[Row]], list[str]]:
    """Rows -> panoramas in manifest order (a row without place_id alone; a place's rows together, in their
    order, where its first row stands) and every problem ("place 'p' (lines 2-5): ..."); refuse all on any."""
    groups: list[list[Row]] = []
    of_place: dict[str, list[Row]] = {}
    for row in rows:
        if not row.place_id:
            groups.append([row])
        elif row.place_id in of_place:
            of_place[row.place_id].append(row)
        else:
            of_place[row.place_id] = [row]
            groups.append(of_place[row.place_id])
    problems = [
        f"place {views[0].place_id!r} ({lines_text([v.line for v in views])}): {reason}"
        for views in groups
        if views[0].place_id
        for reason in _place_problems(views, photo_kind)
    ]
    return groups, problems


def view_name(row: PlaceRow, index: int) -> str:
    """The view's name as players see it: the manifest's, else its number."""
    return row.view or f"view {index + 1}"


def _place_problems(views: Sequence[PlaceRow], photo_kind: str) -> list[str]:
    problems = []
    if len(views) > MAX_VIEWS:
        problems.append(f"{len(views)} views, more than {MAX_VIEWS}")
    first = views[0]
    for row in views[1:]:
        km = distance_km(first.latitude, first.longitude, row.latitude, row.longitude)
        if not km <= SAME_PLACE_KM:
            problems.append(
                f"line {row.line} is {km:.2f} km from line {first.line}; a place's views share one location"
            )
    named: dict[str, list[int]] = {}
    for index, row in enumerate(views):
        named.setdefault(view_name(row, index), []).append(row.line)
        if row.kind != photo_kind:
            problems.append(f"line {row.line} is {row.kind}; a place's views are photos")
        if len(row.view) > MAX_VIEW_NAME:
            problems.append(f"line {row.line}: view name is longer than {MAX_VIEW_NAME} characters")
    problems += [
        f"view {name!r} is named {'twice' if len(lines) == 2 else f'{len(lines)} times'} ({lines_text(lines)})"
        for name, lines in named.items()
        if len(lines) > 1
    ]
    return problems


def lines_text(lines: Sequence[int]) -> str:
    """[2, 3, 4, 5, 9] -> "lines 2-5, 9": runs of three or more lines as a range."""
    parts: list[str] = []
    start = 0
    while start < len(lines):
        end = start
        while end + 1 < len(lines) and lines[end + 1] == lines[end] + 1:
            end += 1
        if end - start >= 2:
            parts.append(f"{lines[start]}-{lines[end]}")
        else:
            parts += [str(line) for line in lines[start : end + 1]]
        start = end + 1
    return f"{'line' if len(lines) == 1 else 'lines'} {', '.join(parts)}"
