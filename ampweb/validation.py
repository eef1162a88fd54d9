"""Request validation derived from the OpenAPI document (`ampweb/openapi.yaml`), in one place.

Every operation the document describes has its path and query parameters
and its JSON body checked against the document's schemas (JSON Schema
2020-12, by the `jsonschema` library) before the view runs, after the
security checks. A request that does not fit answers 400 naming the
parameter or field; one that fits reaches the view with its parameters
typed and defaulted as `request.openapi` (`Parameters`). So a bound, an enum,
a pattern or a forbidden field is written once, in the document, and the
document says exactly what the code enforces.

What a schema cannot say (an ``end`` after ``start``, a name that is taken)
stays in the code and answers a documented 400 or 409.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from pyramid.config import Configurator
from pyramid.interfaces import IViewDeriverInfo
from pyramid.request import Request
from pyramid.response import Response
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ampweb.params import BadParameter, integer, json_object, shown
from ampweb.views.openapi import current_styles, document_for

#: The URL the document is known under, for resolving its ``$ref``s.
DOCUMENT_URI = "urn:nntsc:openapi"
METHODS = ("get", "put", "post", "delete", "patch")
_PLACEHOLDER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


class Parameters(dict[str, Any]):
    """A request's parameters as the document types them, with its defaults filled in."""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    schema: dict[str, Any]
    validator: Draft202012Validator

    @functools.cached_property
    def kind(self) -> str:
        kind = self.schema.get("type", "string")
        return kind if isinstance(kind, str) else next(k for k in kind if k != "null")

    @functools.cached_property
    def empty_error(self) -> ValidationError | None:
        """The error an array parameter given no values has (its checks run once)."""
        return next(iter(sorted(self.validator.iter_errors([]), key=_depth)), None)


@dataclass(frozen=True)
class Operation:
    parameters: tuple[Parameter, ...]
    body: Draft202012Validator | None = None
    body_required: bool = False
    #: A ``style: form`` object parameter takes every query parameter not declared.
    free_form: str | None = None
    declared: frozenset[str] = field(default_factory=frozenset)


def _validator(schema: dict[str, Any], registry: Registry) -> Draft202012Validator:
    # `format` (ipv4, ipv6) is checked too, not only annotated.
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _resolve(item: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        node: Any = document
        for part in item["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        item = node
    return item


def operations() -> dict[tuple[str, str], Operation]:
    """(path template, method) -> its checks, built once from the document."""
    return _operations(current_styles())


@functools.cache
def _operations(styles: tuple[str, ...]) -> dict[tuple[str, str], Operation]:
    # Once per set of view styles: a collection registered later brings its own.
    document = document_for(styles)
    registry: Registry = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    found = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            spec = item[method]
            parameters = []
            free_form = None
            for raw in item.get("parameters", []) + spec.get("parameters", []):
                parameter = _resolve(raw, document)
                if parameter["in"] not in ("path", "query"):
                    continue
                schema = parameter.get("schema", {})
                if parameter["in"] == "query" and schema.get("type") == "object":
                    free_form = parameter["name"]
                    continue
                parameters.append(
                    Parameter(
                        parameter["name"],
                        parameter["in"],
                        bool(parameter.get("required")),
                        schema,
                        _validator(_with_base(schema), registry),
                    )
                )
            body = None
            content = _resolve(spec.get("requestBody", {}), document).get("content", {})
            if "application/json" in content:
                body = _validator(_with_base(content["application/json"]["schema"]), registry)
            found[(path, method.upper())] = Operation(
                tuple(parameters),
                body,
                bool(spec.get("requestBody", {}).get("required")),
                free_form,
                frozenset(p.name for p in parameters if p.location == "query"),
            )
    return found


def _with_base(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with local ``#/components/...`` references made to point into the document."""
    return json.loads(
        json.dumps(schema).replace('"$ref": "#/', f'"$ref": "{DOCUMENT_URI}#/'),
    )


def _convert(parameter: Parameter, raw: str) -> Any:
    """A query or path string as the parameter's type; 400 when it is not one."""
    kind = parameter.kind
    if kind == "integer":
        return integer(parameter.name, raw)
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise BadParameter(
                f"parameter {parameter.name!r} must be a number, got {shown(raw)}"
            ) from None
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise BadParameter(f"parameter {parameter.name!r} must be true or false")
        return raw == "true"
    return raw


def describe(error: ValidationError) -> str:
    """What is wrong, in words, without echoing more than a bounded prefix of the value."""
    # jsonschema types these as possibly unset: a validation error always has them.
    keyword: Any = error.validator
    expected: Any = error.validator_value
    if keyword == "minimum":
        return f"must be at least {expected}"
    if keyword == "maximum":
        return f"must be at most {expected}"
    if keyword == "minLength":
        return "may not be empty" if expected == 1 else f"needs at least {expected} characters"
    if keyword == "maxLength":
        return f"may be at most {expected} characters"
    if keyword == "maxItems":
        return f"may have at most {expected} items"
    if keyword == "enum":
        return f"must be one of {', '.join(map(str, expected))}"
    if keyword == "pattern":
        return f"must match {expected}"
    if keyword == "format":
        return f"must be a valid {expected}"
    if keyword == "type":
        return f"must be of type {expected if isinstance(expected, str) else ' or '.join(expected)}"
    if keyword == "additionalProperties":
        instance: Any = error.instance
        schema: Any = error.schema
        unknown = sorted(set(instance) - set(schema.get("properties", {})))
        return f"has an unknown field {shown(unknown[0]) if unknown else ''}".rstrip()
    if keyword == "required":
        return error.message.split(" is a required property")[0] + " is required"
    if keyword in ("oneOf", "anyOf"):
        return "does not match any of the forms the document allows"
    return keyword + " check failed"


def _field(error: ValidationError) -> str:
    path = ".".join(str(part) for part in error.absolute_path)
    return f"field {path!r}" if path else "the request body"


def validate(request: Request, operation: Operation) -> Parameters:
    """`request`'s parameters typed and checked against `operation`; raises `BadParameter`."""
    values = Parameters()
    query = request.GET
    # The names given, found once: a parameter not among them has no values (an
    # operation declares up to 18, a request gives a few).
    given: set[str] | frozenset[str] = set(query.keys()) if query else frozenset()
    for parameter in operation.parameters:
        if parameter.location == "path":
            raw_values = [request.matchdict[parameter.name]]
        elif parameter.name not in given:
            raw_values = []
        elif parameter.kind == "array":
            raw_values = query.getall(parameter.name)
        else:
            found = query.getall(parameter.name)
            if len(found) > 1:
                raise BadParameter(f"parameter {parameter.name!r} is given more than once")
            # An empty value is as good as none: HTML forms send empty fields.
            raw_values = [v for v in found if v != ""]
        if not raw_values and parameter.kind != "array":
            if parameter.required:
                raise BadParameter(f"parameter {parameter.name!r} is required")
            values[parameter.name] = parameter.schema.get("default")
            continue
        if not raw_values:
            # An array given no values: always [], whose checks' outcome is kept.
            error = parameter.empty_error
            if error is not None:
                raise BadParameter(f"parameter {parameter.name!r} {describe(error)}")
            values[parameter.name] = []
            continue
        if parameter.kind == "array":
            item = Parameter(
                parameter.name,
                parameter.location,
                False,
                parameter.schema.get("items", {}),
                parameter.validator,
            )
            value: Any = [_convert(item, raw) for raw in raw_values]
        else:
            value = _convert(parameter, raw_values[0])
        error = next(iter(sorted(parameter.validator.iter_errors(value), key=_depth)), None)
        if error is not None:
            raise BadParameter(f"parameter {parameter.name!r} {describe(error)}")
        values[parameter.name] = value
    if operation.free_form is not None:
        values[operation.free_form] = {
            name: value for name, value in request.GET.items() if name not in operation.declared
        }
    if operation.body is not None:
        body = json_object(request)
        error = next(iter(sorted(operation.body.iter_errors(body), key=_depth)), None)
        if error is not None:
            raise BadParameter(f"{_field(error)} {describe(error)}")
        values["body"] = body
    return values


def _depth(error: ValidationError) -> int:
    # The deepest error names the field most precisely (not "does not match oneOf").
    return -len(error.absolute_path)


def template_of(pattern: str) -> str:
    """A route pattern as the document writes it: ``{stream_id:\\d+}`` -> ``{stream_id}``."""
    return _PLACEHOLDER.sub(lambda match: "{" + match.group(1) + "}", pattern)


#: `template_of` per route pattern (a few dozen): once, not on every request.
_template = functools.cache(template_of)


def openapi_validated(view: Callable[..., Response], info: IViewDeriverInfo) -> Callable:
    """Check a request against its operation in the document before the view runs."""
    if info.exception_only:
        # Error views answer requests that already failed.
        return view

    def validated(context: Any, request: Request) -> Response:
        route = request.matched_route
        if route is not None:
            operation = operations().get((_template(route.pattern), request.method))
            if operation is not None:
                request.openapi = validate(request, operation)
        return view(context, request)

    return validated


def includeme(config: Configurator) -> None:
    # Placed as view derivers are by default: after the security and CSRF
    # checks (an anonymous client learns nothing of the parameters), before
    # the view and its renderer.
    config.add_view_deriver(openapi_validated)
    # request.openapi is empty unless set here: `ampweb.request.AppRequest.openapi`.
