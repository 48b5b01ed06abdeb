"""Schemathesis checks for the Connect REST API, with Kafka Connect's own
departures from its OpenAPI spec allowed, and nothing else.

Kafka's spec (testdata/connect_rest.yaml, Apache Kafka 3.9's) is generated
from the Java resources and is loose in known ways: it declares only a
`default` response, typed as the success body, and leaves config maps open.
Java Connect answers the cases below the same way; each is checked against
Java step by step in tests/it/differential_rest.rs (rest-script.json), and
the ones where Rampart departs from Java on purpose are listed in
rest-deliberate.txt. Every other failure of Schemathesis's checks fails the
run.

Loaded by scripts/schemathesis through SCHEMATHESIS_HOOKS.
"""

import json

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks as openapi

# Java Connect answers these with 500, and so does Rampart: Jackson's
# failures to bind a body to Connect's entity classes, and validate's
# refusal of a config without connector.class, which Java wraps in a 500.
JAVA_500 = (
    "Cannot deserialize ",
    "Cannot construct instance of ",
    "org.apache.kafka.connect.runtime.rest.errors.BadRequestException: ",
)

# Query parameters Java reads with Boolean.valueOf: any text but "true" is
# false, so a "wrong type" there is not refused.
JAVA_BOOLEANS = {"connectorsOnly", "includeTasks", "onlyFailed", "forward"}

# Workers forward task configs to the leader over this endpoint; Java
# serves it (and lists it in `Allow`) and Kafka's spec leaves it out.
INTERNAL = {("POST", "/connectors/{connector}/tasks")}
INTERNAL_PATHS = {path for _, path in INTERNAL}


def _error(response):
    """The Connect error body `{"error_code": n, "message": "..."}`, or None."""
    try:
        body = json.loads(response.content or b"")
    except ValueError:
        return None
    if (
        isinstance(body, dict)
        and body.get("error_code") == response.status_code
        and isinstance(body.get("message"), str)
    ):
        return body
    return None


def _run(check, ctx, response, case):
    """The wrapped check's verdict: the exception it raised, or None."""
    try:
        check(ctx, response, case)
    except Exception as failure:  # schemathesis failures are exceptions
        return failure
    return None


def _bodyless(case):
    return case.body is None or type(case.body).__name__ == "NotSet"


@schemathesis.check
def server_error_only_where_java_has_one(ctx, response, case):
    """5xx only where Java answers 500 too."""
    failure = _run(not_a_server_error, ctx, response, case)
    if failure is None:
        return None
    error = _error(response)
    if response.status_code == 500 and error and error["message"].startswith(JAVA_500):
        return None
    raise failure


@schemathesis.check
def error_bodies_are_connects(ctx, response, case):
    """Answers of 400 and over carry Connect's error body; the spec's
    `default` schema, the success body, is checked for the others."""
    if response.status_code >= 400:
        if response.status_code == 405 or _error(response):
            return None
        raise AssertionError(
            f"{response.status_code} without Connect's error body: {response.content[:200]!r}"
        )
    openapi.response_schema_conformance(ctx, response, case)
    return None


@schemathesis.check
def valid_requests_accepted(ctx, response, case):
    """Schema-valid requests are accepted, except where Connect validates
    what the spec leaves open (a 400 with Connect's error body: a config
    without connector.class, a logger body without `level`), and requests
    with no body at all, which Rampart refuses with 415 where Java fails
    with a NullPointerException (rest-deliberate.txt)."""
    failure = _run(openapi.positive_data_acceptance, ctx, response, case)
    if failure is None:
        return None
    if response.status_code == 400 and _error(response):
        return None
    if response.status_code == 415 and _bodyless(case):
        return None
    raise failure


@schemathesis.check
def invalid_requests_refused(ctx, response, case):
    """Schema-violating requests are refused, except Java's Boolean.valueOf
    query parameters, which take any text."""
    failure = _run(openapi.negative_data_rejection, ctx, response, case)
    if failure is None:
        return None
    if set(case.query or {}) & JAVA_BOOLEANS and "in query" in str(failure):
        return None
    raise failure


@schemathesis.check
def undeclared_methods_refused(ctx, response, case):
    """405 for methods the spec does not list, but for Connect's internal
    endpoints, which the spec leaves out."""
    failure = _run(openapi.unsupported_method, ctx, response, case)
    if failure is None:
        return None
    if (response.request.method, case.operation.path) in INTERNAL:
        return None
    raise failure


@schemathesis.check
def allow_names_the_methods(ctx, response, case):
    """`Allow` lists the spec's methods, and the internal ones Java serves."""
    failure = _run(openapi.allow_header_conformance, ctx, response, case)
    if failure is None:
        return None
    if case.operation.path in INTERNAL_PATHS and str(failure).rstrip().endswith(
        "Undocumented methods advertised: POST\n\nList exactly the methods this resource supports in `Allow`"
    ):
        return None
    raise failure


@schemathesis.check
def content_type_declared(ctx, response, case):
    """A declared Content-Type, for answers that have a body (Java sends
    none with an empty 202 or 204 either)."""
    if not response.content:
        return None
    openapi.content_type_conformance(ctx, response, case)
    return None
