"""Importing panorama sets: every row checked (columns and image) before anything is written, images
re-encoded without metadata and stored, then one short transaction; all or nothing.

Coordinates come from the manifest; a row whose latitude and longitude are both blank takes them from the
image's EXIF GPS tags (read at import, never kept: served images are re-encoded without any metadata).
Zip uploads: archives.py; the training-leak check: leaks.py; image decoding: images.py.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction

from gameserver.objectstore import object_write, objects_delete
from gameserver.panoramas.images import equirectangular_check, exif_position, image_decode, jpeg_encode, source_read
from gameserver.panoramas.leaks import LeakReport, panorama_set_leak_check
from gameserver.panoramas.models import Panorama, PanoramaSet, PanoramaView
from gameserver.panoramas.places import places_group, view_name
from gameserver.panoramas.storage import stored_image_key
from gameserver.public_ids import new_public_id
from planet_engine.countries import continent_of_country, country_index
from planet_engine.geo import distances_km, geometric_median
from planet_engine.manifest import ManifestError, ManifestRow, problems_text, read_manifest

_COUNTRY_CODE = re.compile(r"[A-Z]{2}")
_LINE = re.compile(r"line (\d+):")

# The kinds a manifest row or an operator may name; a multi-view place is made by rows sharing a place_id.
IMPORT_KINDS = (Panorama.Kind.PHOTO, Panorama.Kind.EQUIRECTANGULAR)
IMPORT_KIND_VALUES = [kind.value for kind in IMPORT_KINDS]

# Called as progress(stage, done, total) with stage "checked" or "written".
Progress = Callable[[str, int, int], None]


class PanoramaImportError(ValueError):
    """An import refused as a whole; `problems` lists every bad row ("line N: reason"), nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"nothing imported, {problems_text(problems)}")


@dataclass(frozen=True)
class ImportReport:
    set_id: int
    count: int
    countries: int  # distinct non-empty country codes among the imported panoramas
    leaks: LeakReport  # the training-leak check against every registered model version

    def summary(self) -> str:
        """One paragraph for the admin, the command and a job's result page."""
        checked = "; ".join(f"{n} near the training photos of {name}" for name, n in self.leaks.flagged.items())
        unchecked = (
            f"; not checked against {', '.join(self.leaks.unchecked)} (training places not stored: "
            "manage.py check_training_leaks --model NAME --training-manifest PATH)"
            if self.leaks.unchecked
            else ""
        )
        return (
            f"{self.count} panoramas, {self.countries} countries; training-leak check: "
            f"{checked or 'no model version to check against'}{unchecked}"
        )


@dataclass(frozen=True)
class _CheckedRow:
    """A manifest row that passed every check, with everything the database row needs but the image."""

    row: ManifestRow
    latitude: float  # the manifest's, or the image's EXIF GPS position where the manifest left it blank
    longitude: float
    source_sha256: str
    kind: str
    heading: float | None
    manifest_country: str
    licence: str
    attribution: str
    place_id: str  # "" for a row that is a panorama of its own
    view: str

    @property
    def line(self) -> int:
        return self.row.line


def panorama_set_import(
    *,
    manifest_path: Path,
    name: str,
    licence: str = "",
    attribution: str = "",
    kind: str | None = None,
    progress: Progress | None = None,
    private: bool = False,
    status: str = PanoramaSet.Status.PUBLISHED,
) -> ImportReport:
    """Import every row of a manifest as a new set, or nothing at all.

    Optional manifest columns: `heading` (degrees, 0-360), `kind` (photo | equirectangular; else `kind`,
    else photo), `licence` and `attribution` (override the set's), `country` (ISO alpha-2, used only
    where the offline lookup finds no country), `place_id` and `view`: rows sharing a place_id are one
    multi-view panorama whose views (named by `view`, facing `heading`) keep the manifest's order and must
    share its location (places.py); its licence, attribution and country are its first row's. Every row is
    checked before anything is written: the file decodes fully, is at most PANORAMA_MAX_BYTES and
    PANORAMA_MAX_PIXELS (and JPEG_MAX_SIDE a side), is not the same image as another row, and an
    equirectangular image is 2:1. The set is always new (a taken name is refused), so there is nothing of the
    same set in the database to duplicate; the (set, source_sha256) constraint backs that up. Raises
    PanoramaImportError listing every problem.

    Images are written to the object store (whole objects) before the short database transaction, so the
    database is not locked while images are encoded; if the transaction fails they are removed. A caller's own
    enclosing transaction that rolls back later leaves orphan files behind, never missing ones.
    """
    # One pass lists every problem: the set's, the CSV's own (missing files, bad coordinates, repeated rows), the
    # images of the rows that parsed, and the places their views make.
    set_problems = _set_problems(name=name, licence=licence, kind=kind)
    try:
        rows, problems = read_manifest(manifest_path, coordinates_optional=True).rows, []
    except ManifestError as error:
        rows, problems = error.rows, list(error.problems)
    # A bad set-level kind is the set's one problem, not every row's again.
    checked, row_problems = _rows_check(
        rows=rows,
        licence=licence,
        attribution=attribution,
        kind=kind if kind in IMPORT_KIND_VALUES else None,
        progress=progress,
    )
    groups, place_problems = places_group(checked, photo_kind=Panorama.Kind.PHOTO)
    problems = set_problems + _by_line(problems + row_problems) + place_problems
    if problems:
        raise PanoramaImportError(problems)
    firsts = [group[0] for group in groups]
    places = country_index().lookup_many(
        np.array([item.latitude for item in firsts]), np.array([item.longitude for item in firsts])
    )
    panoramas: list[Panorama] = []
    views: list[list[PanoramaView]] = []  # per panorama; none unless it is a multi-view place
    for group, place in zip(groups, places, strict=True):
        item = group[0]
        country = place.country or item.manifest_country
        continent = place.continent or (continent_of_country(country) if country else None) or ""
        panoramas.append(
            Panorama(
                kind=Panorama.Kind.MULTIVIEW if item.place_id else item.kind,
                source_sha256=item.source_sha256,
                source_file=item.row.file,
                latitude=item.latitude,
                longitude=item.longitude,
                heading=None if item.place_id else item.heading,
                country=country,
                continent=continent,
                licence=item.licence,
                attribution=item.attribution,
            )
        )
        views.append(
            [
                PanoramaView(
                    index=index,
                    name=view_name(row, index),
                    heading=row.heading,
                    source_sha256=row.source_sha256,
                    source_file=row.row.file,
                )
                for index, row in enumerate(group)
            ]
            if item.place_id
            else []
        )
    written = _images_write(groups=groups, panoramas=panoramas, views=views, progress=progress)
    try:
        with transaction.atomic():
            prior, spread = panorama_set_measure(panoramas=panoramas)
            panorama_set = PanoramaSet.objects.create(
                name=name,
                licence=licence,
                attribution=attribution,
                prior_latitude=prior[0],
                prior_longitude=prior[1],
                spread_km=spread,
                provenance=PanoramaSet.Provenance.PRIVATE if private else PanoramaSet.Provenance.PUBLIC,
                status=status,
            )
            for panorama in panoramas:
                panorama.panorama_set = panorama_set
            Panorama.objects.bulk_create(panoramas, batch_size=500)
            for panorama, its_views in zip(panoramas, views, strict=True):
                for view in its_views:
                    view.panorama = panorama
            PanoramaView.objects.bulk_create([view for its_views in views for view in its_views], batch_size=500)
    except BaseException as error:
        objects_delete(keys=written)
        if isinstance(error, IntegrityError) and PanoramaSet.objects.filter(name=name).exists():
            raise PanoramaImportError([f"a panorama set named {name!r} already exists"]) from None
        raise
    return ImportReport(
        set_id=panorama_set.pk,
        count=len(panoramas),
        countries=len({p.country for p in panoramas if p.country}),
        leaks=panorama_set_leak_check(panorama_set=panorama_set),
    )


def panorama_set_measure(*, panoramas: Sequence[Panorama]) -> tuple[tuple[float, float], float]:
    """The set prior (the geometric median of the places: the one fixed guess that does best on the set, made
    without looking) and the spread (the median km from it to a place)."""
    latitudes = np.array([p.latitude for p in panoramas], dtype=np.float64)
    longitudes = np.array([p.longitude for p in panoramas], dtype=np.float64)
    prior = geometric_median(latitudes, longitudes)
    spread = float(
        np.median(
            distances_km(np.full(latitudes.size, prior[0]), np.full(latitudes.size, prior[1]), latitudes, longitudes)
        )
    )
    return prior, spread


def _set_problems(*, name: str, licence: str, kind: str | None) -> list[str]:
    problems = []
    try:
        validate_slug(name)
    except ValidationError:
        problems.append(f"set name {name!r} must be a slug (letters, digits, - and _)")
    if len(name) > _max_length(PanoramaSet, "name"):
        problems.append(f"set name {name!r} is too long")
    if PanoramaSet.objects.filter(name=name).exists():
        problems.append(f"a panorama set named {name!r} already exists")
    if len(licence) > _max_length(PanoramaSet, "licence"):
        problems.append("licence is too long")
    if kind is not None and kind not in IMPORT_KIND_VALUES:
        problems.append(f"kind {kind!r} is not one of {', '.join(IMPORT_KIND_VALUES)}")
    return problems


def _rows_check(
    *, rows: tuple[ManifestRow, ...], licence: str, attribution: str, kind: str | None, progress: Progress | None
) -> tuple[list[_CheckedRow], list[str]]:
    """Check every row's columns and image: the rows that pass, and every problem of the others."""
    problems: list[str] = []
    checked: list[_CheckedRow] = []
    first_line_of: dict[str, int] = {}
    for done, row in enumerate(rows, 1):
        reasons: list[str] = []
        columns = _row_columns(row=row, licence=licence, attribution=attribution, kind=kind, reasons=reasons)
        sha256 = ""
        position = (row.latitude, row.longitude)
        try:
            data = source_read(row.path)
            sha256 = hashlib.sha256(data).hexdigest()
            first = first_line_of.setdefault(sha256, row.line)
            if first != row.line:
                reasons.append(f"same image as line {first}")
            else:
                image = image_decode(data)
                if math.isnan(row.latitude):
                    position = exif_position(data)
                if columns is not None and columns[0] == Panorama.Kind.EQUIRECTANGULAR:
                    equirectangular_check(image)
                image.close()
        except ValueError as error:
            reasons.append(str(error))
        problems.extend(f"line {row.line}: {reason}" for reason in reasons)
        if not reasons and columns is not None:
            row_kind, heading, country, row_licence, row_attribution = columns
            checked.append(
                _CheckedRow(
                    row=row,
                    latitude=position[0],
                    longitude=position[1],
                    source_sha256=sha256,
                    kind=row_kind,
                    heading=heading,
                    manifest_country=country,
                    licence=row_licence,
                    attribution=row_attribution,
                    place_id=row.extra.get("place_id", "").strip(),
                    view=row.extra.get("view", "").strip(),
                )
            )
        if progress:
            progress("checked", done, len(rows))
    return checked, problems


def _by_line(problems: list[str]) -> list[str]:
    """Row problems ("line N: ...") in line order, the manifest's own (no line) first; stable within a line."""

    def line(problem: str) -> int:
        found = _LINE.match(problem)
        return int(found.group(1)) if found else 0

    return sorted(problems, key=line)


def _row_columns(
    *, row: ManifestRow, licence: str, attribution: str, kind: str | None, reasons: list[str]
) -> tuple[str, float | None, str, str, str] | None:
    """The optional columns parsed: (kind, heading, country, licence, attribution), or None with reasons."""
    before = len(reasons)
    row_kind = row.extra.get("kind", "").strip().lower() or kind or Panorama.Kind.PHOTO
    if row_kind not in IMPORT_KIND_VALUES:
        reasons.append(f"kind {row_kind!r} is not one of {', '.join(IMPORT_KIND_VALUES)}")
    heading_text = row.extra.get("heading", "").strip()
    heading = None
    if heading_text:
        try:
            heading = float(heading_text)
        except ValueError:
            heading = math.nan
        if not 0.0 <= heading <= 360.0:  # NaN fails too
            reasons.append(f"heading {heading_text!r} is not a number of degrees in [0, 360]")
        else:
            heading %= 360.0
    country = row.extra.get("country", "").strip().upper()
    if country and not _COUNTRY_CODE.fullmatch(country):
        reasons.append(f"country {country!r} is not an ISO 3166-1 alpha-2 code")
    row_licence = row.extra.get("licence", "").strip() or licence
    if len(row_licence) > _max_length(Panorama, "licence"):
        reasons.append("licence is too long")
    if len(row.file) > _max_length(Panorama, "source_file"):
        reasons.append("file path is too long")
    row_attribution = row.extra.get("attribution", "").strip() or attribution
    if len(reasons) > before:
        return None
    return row_kind, heading, country, row_licence, row_attribution


def _images_write(
    *,
    groups: list[list[_CheckedRow]],
    panoramas: list[Panorama],
    views: list[list[PanoramaView]],
    progress: Progress | None,
) -> list[str]:
    """Re-encode and store every image, filling image_name/width/height/content_sha256 of each panorama and
    view (a multi-view panorama's are its first view's); all or none."""
    written: list[str] = []
    total, done = sum(len(group) for group in groups), 0
    try:
        for group, panorama, its_views in zip(groups, panoramas, views, strict=True):
            targets: list[Panorama | PanoramaView] = list(its_views) or [panorama]
            for item, target in zip(group, targets, strict=True):
                name = f"{panorama.public_id if target is panorama else new_public_id()}.jpg"
                written.append(_image_store(item=item, target=target, name=name))
                done += 1
                if progress:
                    progress("written", done, total)
            if its_views:
                first = its_views[0]
                panorama.image_name, panorama.width, panorama.height = first.image_name, first.width, first.height
                panorama.content_sha256 = first.content_sha256
    except BaseException:
        objects_delete(keys=written)
        raise
    return written


def _image_store(*, item: _CheckedRow, target: Panorama | PanoramaView, name: str) -> str:
    data = source_read(item.row.path)
    if hashlib.sha256(data).hexdigest() != item.source_sha256:
        raise PanoramaImportError([f"line {item.row.line}: file changed during the import"])
    with image_decode(data) as image:
        jpeg = jpeg_encode(image)
        target.width, target.height = image.size
    target.content_sha256 = hashlib.sha256(jpeg).hexdigest()
    target.image_name = name
    return object_write(key=stored_image_key(name=name), data=jpeg)


def _max_length(model: type[Panorama] | type[PanoramaSet], field: str) -> int:
    length = getattr(model._meta.get_field(field), "max_length", None)
    assert isinstance(length, int), f"{model.__name__}.{field} has no max_length"
    return length
