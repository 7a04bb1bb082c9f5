"""Pieces the OpenAPI document's paths and component schemas share: a reference to a component, a JSON
response, and the schema of the image a model guesses on."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


VIEW = {
    "type": "string",
    "enum": ["served", "original"],
    "description": "the image the model guesses on: the round's served bytes, or (a model registered by its "
    "predictions) the dataset's original file",
}
