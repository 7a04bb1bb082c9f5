"""The panoramas' keys in the object store (gameserver/objectstore.py), the one place that knows their layout:
imported images, each round's served encodings, panorama renders, and uploads waiting for their import."""

from __future__ import annotations

import io
from collections.abc import Iterable

from PIL import Image

from gameserver.objectstore import object_read, planet_storage
from gameserver.panoramas.models import Panorama


# The layout. Keys are opaque: public ids and random names, never a dataset's file name or a location.
def stored_image_key(*, name: str) -> str:
    """An imported image (a panorama's, or a view's of a multi-view place), re-encoded without metadata."""
    return name


def panorama_image_key(*, panorama: Panorama) -> str:
    return stored_image_key(name=panorama.image_name)


def panorama_view_key(*, panorama: Panorama, key: str) -> str:
    """A render of the panorama (one fixed view, keyed by what determines its pixels)."""
    return f"views/{panorama.public_id}-{key}.jpg"


def panorama_renders_keys(*, public_ids: Iterable[str]) -> list[str]:
    """Every stored render of these panoramas (panorama_view_key's), found by listing the renders' folder."""
    prefixes = tuple(f"{public_id}-" for public_id in public_ids)
    try:
        _, files = planet_storage().listdir("views")
    except FileNotFoundError:  # the local store before any render (a bucket lists an absent prefix as empty)
        return []
    return [f"views/{name}" for name in files if prefixes and name.startswith(prefixes)]


def served_view_key(*, name: str) -> str:
    """One round's own encoding of its view (see gameserver/games/serving.py)."""
    return f"rounds/{name}"


def upload_key(*, name: str) -> str:
    """An uploaded archive waiting for its import job (panoramas/jobs.py)."""
    return f"uploads/{name}"


def image_open(*, key: str) -> Image.Image:
    """A stored image, decoded (the stored JPEGs were checked on import: no bomb, no metadata)."""
    image = Image.open(io.BytesIO(object_read(key=key)))
    image.load()  # decoded in full now: the in-memory bytes hold no file open, so no copy is needed to close it
    return image
