"""Stripe's description of the pinned API version, loaded and indexed once.

``spec-acacia.json.gz`` is ``shared/stripe/spec-acacia.json`` unmodified, gzipped: an OpenAPI 3
description of every endpoint and object of ``2025-02-24.acacia``, rebuilt from the ``stripe``
Python SDK 11.6.1, whose typed parameters and resource classes Stripe generates from its own
OpenAPI spec. The sandbox reads it for two things: every ``/v1`` request is checked against its
operation (``sandbox.validation``), and every answer takes the fields of its object schema
(``sandbox.shapes``). This module does not import localstripe, so tools can read the shapes too.
"""

import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

SPEC_PATH = Path(__file__).with_name("spec-acacia.json.gz")
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Operation:
    """One endpoint: ``params`` is a single object schema for everything a request may carry
    (the query parameters and the form body; the SDK sends a DELETE's body as a query)."""

    method: str
    path: str
    params: dict


class Spec:
    def __init__(self, document):
        self.schemas = document["components"]["schemas"]
        self._exact = {}
        self._templated = defaultdict(list)
        for path, methods in document["paths"].items():
            for method, described in methods.items():
                operation = Operation(method.upper(), path, _parameters(described))
                if "{" in path:
                    segments = tuple(None if s.startswith("{") else s for s in path.split("/"))
                    self._templated[(operation.method, len(segments))].append((segments, operation))
                else:
                    self._exact[(operation.method, path)] = operation
        self._shapes = {}

    def operation(self, method, path):
        """The operation answering ``method path``, or None when Stripe has no such URL.

        A literal segment beats a path parameter (``/v1/customers/search`` is not a customer).
        """
        found = self._exact.get((method, path))
        if found is not None:
            return found
        parts = path.split("/")
        best, best_literals = None, -1
        for segments, operation in self._templated.get((method, len(parts)), ()):
            if all(
                part if s is None else s == part for s, part in zip(segments, parts, strict=True)
            ):
                literals = sum(s is not None for s in segments)
                if literals > best_literals:
                    best, best_literals = operation, literals
        return best

    def resolve(self, schema):
        """``schema`` with a ``$ref`` followed (response schemas use them, requests do not)."""
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def shape(self, kind):
        """How an object of ``kind`` (``"invoice"``, ``"checkout.session"``...) is answered:
        ``fields`` (every field, with a neutral default), ``expandable`` (fields holding an id or
        the expanded object) and ``nested`` (the shapes of inline sub-objects)."""
        if kind not in self._shapes:
            self._shapes[kind] = self._shape(self.schemas[kind])
        return self._shapes[kind]

    def _shape(self, schema):
        properties = schema["properties"]
        shape = {"fields": {name: self.default(prop) for name, prop in properties.items()}}
        expandable = [name for name, prop in properties.items() if _expandable(prop)]
        if expandable:
            shape["expandable"] = expandable
        nested = {}
        for name, prop in properties.items():
            inline = self._inline_object(prop)
            if inline is not None:
                nested[name] = self._shape(inline)
        if nested:
            shape["nested"] = nested
        return shape

    def _inline_object(self, prop):
        """The sub-object schema a field holds in place: not a resource with its own ``object``
        kind, not a list, not an expandable id."""
        if "anyOf" in prop:
            refs = [alt for alt in prop["anyOf"] if "$ref" in alt]
            if len(refs) != 1 or _expandable(prop):
                return None
            prop = refs[0]
        target = self.resolve(prop)
        if target.get("type") != "object" or "properties" not in target:
            return None
        if "x-resourceId" in target or target.get("title") == "List":
            return None
        return target

    def default(self, prop):
        """A neutral value of the field's type: null where allowed, else false, 0, "", the first
        enum value, an empty list or map, or an object of defaults."""
        if prop.get("nullable"):
            return None
        if "anyOf" in prop:
            alternatives = prop["anyOf"]
            if any(alt.get("type") == "string" for alt in alternatives):
                return ""
            return self.default(alternatives[0])
        prop = self.resolve(prop)
        kind = prop.get("type")
        if kind == "boolean":
            return False
        if kind in ("integer", "number"):
            return 0
        if kind == "string":
            return prop["enum"][0] if "enum" in prop else ""
        if kind == "array":
            return []
        if "properties" in prop:
            return {name: self.default(sub) for name, sub in prop["properties"].items()}
        return {}


def _expandable(prop):
    alternatives = prop.get("anyOf", ())
    return any(alt.get("type") == "string" for alt in alternatives) and any(
        "$ref" in alt for alt in alternatives
    )


def _parameters(described):
    properties, required = {}, []
    for parameter in described.get("parameters", ()):
        if parameter["in"] == "query":
            properties[parameter["name"]] = parameter["schema"]
            if parameter.get("required"):
                required.append(parameter["name"])
    content = described.get("requestBody", {}).get("content", {})
    body = content.get(FORM, {}).get("schema", {})
    properties.update(body.get("properties", {}))
    required.extend(body.get("required", ()))
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def load(path=SPEC_PATH):
    return Spec(json.loads(gzip.decompress(Path(path).read_bytes())))


SPEC = load()
