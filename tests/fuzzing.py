"""The stateless fuzzing of ``tests/test_fuzz.py``, runnable in worker processes: schemathesis draws the requests,
each is sent anonymously or with a role's token, and every 5xx or dropped answer is kept with its request.

Drawing an example costs the client about as much CPU as the server spends answering it, so the operations are
shared among worker processes (one per core): :func:`start_worker` sets a process up, :func:`fuzz` runs one
operation there and returns its :class:`Tally`.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = [
    "Tally",
    "Worker",
    "conformance",
    "describe",
    "fuzz",
    "load_schema",
    "offline",
    "operation_kind",
    "per_layer",
    "start_worker",
]


@dataclass
class Tally:
    """Examples per operation, statuses, identities, and the failures (5xx, no answer), each with its request."""

    examples: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    identities: Counter[str] = field(default_factory=Counter)
    unsent: int = 0
    failures: list[str] = field(default_factory=list)

    def record(
        self,
        label: str,
        identity: str,
        request: Callable[[], str],
        response: requests.Response | None,
        error: str = "",
    ) -> None:
        """Count one request; keep it as a failure, described by ``request()``, if it got a 5xx or no answer, or
        ``error`` (a check's)."""
        self.examples[label] += 1
        self.identities[identity] += 1
        if response is None:
            self.failures.append(f"{request()}: no answer: {error}")
            return
        self.statuses[response.status_code] += 1
        self.answers[label, response.status_code] += 1
        if response.status_code >= 500:
            self.failures.append(f"{request()} -> {response.status_code} {response.text[:300]}")
        elif error:
            self.failures.append(f"{request()} -> {response.status_code}: {error}")

    def add(self, other: Tally) -> None:
        """Add the counts and failures of ``other``."""
        self.examples.update(other.examples)
        self.statuses.update(other.statuses)
        self.answers.update(other.answers)
        self.identities.update(other.identities)
        self.unsent += other.unsent
        self.failures.extend(other.failures)

    def summary(self, title: str) -> str:
        """One line: how many operations and examples, the statuses seen, as whom."""
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        who = ", ".join(f"{name}: {n}" for name, n in sorted(self.identities.items()))
        counts = self.examples.values()
        return (
            f"{title}: {len(self.examples)} operations, {sum(counts)} examples (fewest {min(counts, default=0)}, "
            f"most {max(counts, default=0)}); statuses {{{statuses}}}; as {{{who}}}; "
            f"{self.unsent} not sendable by the client"
        )

    def by_operation(self) -> str:
        """Each operation with its examples and statuses, one a line."""
        lines = []
        for label, n in sorted(self.examples.items()):
            statuses = ", ".join(f"{code}: {k}" for (op, code), k in sorted(self.answers.items()) if op == label)
            lines.append(f"  {n:5d} {label} ({statuses})")
        return "\n".join(lines)


_USUAL_HEADERS = frozenset(
    ("authorization", "user-agent", "x-schemathesis-testcaseid", "accept", "accept-encoding", "connection")
)


def describe(kwargs: dict[str, Any], identity: str) -> str:
    """A request as schemathesis sends it, in one line short enough for a list of failures (no token)."""
    url = requests.Request(kwargs["method"], kwargs["url"], params=kwargs.get("params")).prepare().url
    headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() not in _USUAL_HEADERS}
    body = kwargs.get("json", kwargs.get("data"))
    text = "" if body is None else f" body={body if isinstance(body, str | bytes) else json.dumps(body)!s:.300}"
    return f"{kwargs['method']} {url} headers={headers}{text} [{identity}]"


def offline(node: Any, in_parameters: bool = False, in_responses: bool = False) -> Any:
    """Drop or neutralise the remote $refs (schemas.opengis.net) of pygeoapi's OpenAPI: no network here."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("http"):
            if in_parameters:
                return None
            if in_responses:
                return {"description": "see the OGC API specification"}
            return {}
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k == "parameters" and isinstance(v, list):
                out[k] = [p for p in (offline(x, in_parameters=True) for x in v) if p is not None]
            elif k == "responses" and isinstance(v, dict):
                out[k] = {code: offline(r, in_responses=True) for code, r in v.items()}
            else:
                out[k] = offline(v)
        return out
    if isinstance(node, list):
        return [offline(x) for x in node]
    return node


def load_schema(document: dict[str, Any]) -> Any:
    """The schemathesis schema of ``document`` with only its own links: none inferred from names (they would chain
    ``GET /auth/users`` into disabling the test's own users), no configuration file read from the disk."""
    import schemathesis
    from schemathesis.config import SchemathesisConfig

    config = SchemathesisConfig.from_dict({"phases": {"stateful": {"inference": {"algorithms": []}}}})
    return schemathesis.openapi.from_dict(document, config=config)


def conformance(case: Any, response: requests.Response) -> str:
    """What in the answer departs from the OpenAPI document (status, media type, body, headers), or ''."""
    from schemathesis.core.failures import Failure, FailureGroup
    from schemathesis.specs.openapi import checks

    try:
        case.validate_response(
            response,
            checks=[
                checks.status_code_conformance,
                checks.content_type_conformance,
                checks.response_schema_conformance,
                checks.response_headers_conformance,
            ],
        )
    except FailureGroup as group:
        return "; ".join(f"{f.title}: {f.message[:300]}" for f in group.exceptions)
    except Failure as failure:
        return f"{failure.title}: {failure.message[:300]}"
    return ""


EDITED = "/ogc/collections/{collection_id}/"


def _column_schema(column: Any) -> dict[str, Any]:
    kind: dict[str, Any] = {"type": column.type} if column.is_numeric else {"type": "string"}
    if column.type == "date":
        kind["format"] = "date"
    if column.range is not None and column.is_numeric:
        kind["minimum"], kind["maximum"] = column.range
    # null clears a property; a value of another type is what a client may send by mistake (a JSON true, a number
    # as text); lists and objects are refused before any of this
    other = ["boolean", "string"] if column.is_numeric else ["boolean", "number"]
    return {"anyOf": [kind, {"type": "null"}, {"type": other}]}


def per_layer(document: dict[str, Any]) -> dict[str, Any]:
    """The application's document with its editing operations also spelled out for each editable layer, with the
    layer's properties, their types and ranges (from the catalogue), or another type: drawn bodies then reach the
    checks of each value, not only "no such property", and a random collection id no longer ends every request at a
    404."""
    from gis_service.model import LAYERS

    doc = json.loads(json.dumps(document))
    for path, operations in list(doc["paths"].items()):
        if not path.startswith(EDITED) or "/tiles" in path:
            continue
        for name, layer in LAYERS.items():
            if not layer.editable:
                continue
            copies = json.loads(json.dumps(operations))
            for method, operation in copies.items():
                operation["operationId"] = f"{operation.get('operationId', method)}_{name}"
                operation["parameters"] = [p for p in operation.get("parameters", []) if p["name"] != "collection_id"]
                for content in operation.get("requestBody", {}).get("content", {}).values():
                    fields = content["schema"]["properties"]
                    fields["properties"] = {
                        "type": "object",
                        "properties": {
                            c.name: _column_schema(c) for c in layer.columns if c.editable or c.name == "plan_id"
                        }
                        | {"attributes": {"type": "object"}},
                        "additionalProperties": False,
                    }
            doc["paths"][path.replace("{collection_id}", name)] = copies
    return doc


_COLLECTION = re.compile(r"^(/ogc)?/collections/[^/]+")


def operation_kind(method: str, path: str) -> str:
    """An operation repeated for each collection, as one kind: ``GET /collections/{collection}/items``.

    >>> operation_kind("patch", "/ogc/collections/zones/items/{feature_id}")
    'PATCH /ogc/collections/{collection}/items/{feature_id}'
    """
    return f"{method.upper()} {_COLLECTION.sub(r'\1/collections/{collection}', path)}"


# ---- a worker process ----------------------------------------------------------------------------------------
@dataclass
class Worker:
    """What a worker fuzzes with: the documents, where each is served, who may send, the database for new tokens."""

    documents: dict[str, dict[str, Any]]
    bases: dict[str, str]
    #: The documents whose answers are checked against them too (status, media type, body, headers).
    conforming: frozenset[str]
    identities: dict[str, dict[str, str]]
    database_url: str


_state: dict[str, Any] = {}


def start_worker(worker: Worker) -> None:
    """Set this process up: the schemas, a keep-alive HTTP session, an engine to issue tokens."""
    from gis_service.db import create_db_engine

    _state["worker"] = worker
    _state["operations"] = {
        name: {op.label: op for op in (r.ok() for r in load_schema(doc).get_all_operations())}
        for name, doc in worker.documents.items()
    }
    _state["session"] = requests.Session()
    _state["engine"] = create_db_engine(worker.database_url, pool_size=1)


def _fresh_token(role: str) -> dict[str, str]:
    from gis_service.auth import get_user, issue_token

    with _state["engine"].begin() as conn:
        token = issue_token(conn, get_user(conn, f"test-{role}"), ttl_s=600).access_token
    return {"Authorization": f"Bearer {token}"}


#: CI draws the same requests every run (a red build names a change, not luck); elsewhere each run draws anew.
DERANDOMIZE = os.environ.get("CI") == "true" and os.environ.get("SCHEMATHESIS_RANDOM") != "1"


def fuzz(document: str, label: str, examples: int, identities: tuple[str, ...]) -> Tally:
    """Send ``examples`` drawn requests of one operation, valid and invalid, each as one of ``identities``; check
    the answers against the document if it is one of :attr:`Worker.conforming`."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis.generation import GenerationMode

    worker: Worker = _state["worker"]
    operation = _state["operations"][document][label]
    session: requests.Session = _state["session"]
    base = worker.bases[document]
    tally = Tally()
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))
    wants_reason = any(p.name == "X-Change-Reason" for p in operation.iter_parameters())
    logs_out = operation.path == "/auth/revoke"

    @given(drawn=st.tuples(cases, st.sampled_from(identities), st.booleans()))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(drawn: tuple[Any, str, bool]) -> None:
        case, identity, add_reason = drawn
        headers = dict(worker.identities[identity])
        if logs_out and identity != "anonymous":
            headers = _fresh_token(identity)  # the shared token would be revoked for every later request
        if wants_reason and add_reason and identity != "anonymous" and "X-Change-Reason" not in (case.headers or {}):
            headers["X-Change-Reason"] = "fuzz"  # else most writes stop at the missing reason
        try:
            kwargs = case.as_transport_kwargs(base_url=base, headers=headers)
        except (ValueError, TypeError, UnicodeError):
            tally.unsent += 1  # a header or URL the client library itself refuses to build
            return
        try:
            response = session.request(**kwargs, timeout=60, allow_redirects=False)
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, UnicodeError):
            tally.unsent += 1
            return
        except requests.RequestException as exc:  # a hang or a dropped connection is a failure too
            tally.record(label, identity, lambda: describe(kwargs, identity), None, repr(exc))
            return
        problem = conformance(case, response) if conforming else ""
        tally.record(label, identity, lambda: describe(kwargs, identity), response, problem)

    conforming = document in worker.conforming
    call()
    return tally
