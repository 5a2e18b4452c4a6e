"""Atlassian's OpenAPI descriptions, loaded once per test session, and the checks the fake Jira runs with them.

Cloud is checked against the REST v3 file (``swagger-v3.v3.json``), Data Center against the v2 file
(``jira-platform-v2.openapi.json``; Atlassian publishes no OpenAPI file for Data Center, and v2 is the API it
speaks). A finding the spec makes about a request or a response is a :class:`SpecViolation`, unless the
allow-list :data:`QUIRKS` names it as a known quirk of the spec (``/work/shared/jira/endpoints.md`` §0).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.datastructures import MultiDict

SHARED = Path(__file__).resolve().parents[4] / "shared" / "jira"
SPEC_FILES = {"cloud": "swagger-v3.v3.json", "datacenter": "jira-platform-v2.openapi.json"}
#: the servers entry of both files; requests are checked as if sent there
SPEC_HOST = "https://your-domain.atlassian.net"


class SpecViolation(AssertionError):
    """A request the backend sent, or a response the fake sent, that Atlassian's spec does not allow."""


@dataclass(frozen=True)
class Quirk:
    """A known disagreement between the spec and real Jira, allowed on purpose."""

    flavour: str  # "cloud", "datacenter" or "*"
    operation: str  # operationId
    contains: str  # a text of the validator's finding
    why: str


QUIRKS: tuple[Quirk, ...] = (
    # 204 No Content is described with an application/json body; real Jira (and HTTP) sends none.
    *(
        Quirk("*", op, "MissingData", "204 described with a JSON body; real Jira sends no body")
        for op in ("doTransition", "addWatcher", "removeWatcher", "editIssue")
    ),
    # Rate limits and outages are cross-cutting (endpoints.md §0: any call may get 429 or a 5xx, with Retry-After)
    # but the spec lists them for only a few operations.
    *(
        Quirk("*", "*", f"Unknown response http status: {status}", "429/5xx from any operation")
        for status in (429, 500, 502, 503, 504)
    ),
    # The upload's body is described as an array of MultipartFile (a Java type: "bytes", "inputStream", ...);
    # a multipart body is read as a form (an object), so it can never match. The fake checks the parts itself
    # (named "file", 1-60 of them) and the X-Atlassian-Token header.
    Quirk("*", "addAttachment", "is not of type 'array'", "multipart body described as a Java MultipartFile array"),
    # Creating a custom field needs the Administer Jira global permission; others get 403, which the spec omits.
    Quirk("*", "createCustomField", "Unknown response http status: 403", "403 for non-administrators, not listed"),
)


def allowed(flavour: str, operation: str, finding: str) -> Quirk | None:
    for quirk in QUIRKS:
        if quirk.flavour in ("*", flavour) and quirk.operation in ("*", operation) and quirk.contains in finding:
            return quirk
    return None


@functools.cache
def raw_spec(flavour: str) -> dict[str, Any]:
    return json.loads((SHARED / SPEC_FILES[flavour]).read_text())


@functools.cache
def openapi(flavour: str) -> OpenAPI:
    """The spec of a flavour, as openapi-core reads it (once per session: the files are 2.4-3 MB).

    For Data Center the spec's ``security`` is removed: the Cloud file knows only basic auth and OAuth 2, while a
    Data Center personal access token is a bearer token (the fake checks authentication itself, for both)."""
    spec = raw_spec(flavour)
    if flavour == "datacenter":
        spec = copy.deepcopy(spec)
        spec.pop("security", None)
        for item in spec["paths"].values():
            for operation in item.values():
                if isinstance(operation, dict):
                    operation.pop("security", None)
    config = Config(spec_validator_cls=None, extra_format_validators={"date-time": jira_date_time})
    return OpenAPI.from_dict(spec, config=config)


JIRA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?([+-]\d\d:?\d\d|Z)$")


def jira_date_time(value: Any) -> bool:
    """The spec's ``date-time`` as Jira sends it. Quirk (endpoints.md §0): Jira writes the offset without a colon
    (``2021-01-17T12:34:00.000+0000``), which RFC 3339 (the format's strict meaning) does not allow."""
    return not isinstance(value, str) or JIRA_TIME.match(value) is not None


@functools.cache
def adf_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SHARED / "adf-schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def check_adf(document: Any, where: str) -> None:
    """An ADF document that Atlassian's ADF schema refuses is a SpecViolation."""
    errors = sorted(adf_validator().iter_errors(document), key=lambda e: list(e.path))
    if errors:
        raise SpecViolation(f"{where}: not a valid ADF document: {errors[0].message} at {list(errors[0].path)}")


def _request(method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes, ctype: str):
    return MockRequest(
        SPEC_HOST,
        method,
        path,
        args=MultiDict(query),
        headers=headers,
        data=body or None,
        content_type=ctype or "application/json",
    )


def check_request(
    flavour: str,
    operation: str,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
) -> None:
    ctype = headers.get("Content-Type", headers.get("content-type", ""))
    request = _request(method, path, query, headers, body, ctype)
    try:
        openapi(flavour).validate_request(request)
    except Exception as exc:  # openapi-core's validation errors carry their causes
        finding = _describe(exc)
        if allowed(flavour, operation, finding) is None:
            raise SpecViolation(f"request {method.upper()} {path} ({operation}) breaks the spec: {finding}") from exc


def check_response(
    flavour: str,
    operation: str,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
    status: int,
    response_body: bytes,
    response_ctype: str,
) -> None:
    ctype = headers.get("Content-Type", headers.get("content-type", ""))
    request = _request(method, path, query, headers, body, ctype)
    response = MockResponse(response_body, status_code=status, content_type=response_ctype)
    try:
        openapi(flavour).validate_response(request, response)
    except Exception as exc:
        finding = _describe(exc)
        if allowed(flavour, operation, finding) is None:
            raise SpecViolation(
                f"the fake's response {status} to {method.upper()} {path} ({operation}) breaks the spec: {finding}"
            ) from exc


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__ or exc.__context__
    depth = 0
    while cause is not None and depth < 4:
        parts.append(f"{type(cause).__name__}: {cause}")
        for sub in getattr(cause, "schema_errors", ())[:3]:
            parts.append(f"  - {getattr(sub, 'message', sub)} at {list(getattr(sub, 'path', []))}")
        cause = cause.__cause__ or cause.__context__
        depth += 1
    return " / ".join(parts)
