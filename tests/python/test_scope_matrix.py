"""The scope matrix of issue 20 (item 3), generated from the served OpenAPI document.

For every operation of `/openapi.json` secured by an API key (`security: [{"apiKey": []}]`), the
document names the one scope it needs in `x-scopes`. This suite proves, over real HTTP against the
`titan` binary, that:

1. a key holding every scope but that one (for the `*` routes of key management: every scope but
   `*`) is answered 403 with an error naming exactly that scope;
2. a key holding every scope but limited to the session `other` is refused the session `matrix`:
   403 for every route that names a session (in the path, the body or the query), and 404 for the
   routes whose resource is addressed by id (API keys, webhooks), which hide that the resource
   exists; its list routes (sessions, keys, webhooks, the event stream) show it only what is its own.

Operations that no API key can call are skipped: `/admin/...` (security `masterKey`, checked by
the master-key layer, `x-scopes: []`) and the probes `/healthz` and `/readyz` (no security). The
first test checks that nothing else is skipped, so a route added later joins the matrix the day it
lands (and, if it names no session in its path, fails until it has an expectation below).
"""

from __future__ import annotations

import copy
import json
import pathlib
import re
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import httpx
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from titan_server import MASTER, ROOT, Server  # noqa: E402

JSON = Dict[str, Any]

MATRIX = "matrix"  # the session every request targets
OTHER = "other"  # the only session the limited key may use
GHOST = "ghost"  # a session that does not exist
CHAT = "15550001111@s.whatsapp.net"
# Path parameters the document gives no example for (it gives one for each today).
DEFAULT_PARAMETERS = {
    "chatId": CHAT,
    "contactId": CHAT,
    "id": "wh_01JZ8X6V3QW8T9N6F4C2B1A0Z9",
    "deliveryId": "dlv_01JZ8X6V3QW8T9N6F4C2B1A0Z9",
}
# Webhook targets must be saved with a reachable URL; the server under test allows loopback
# (TITAN_WEBHOOK_ALLOW_PRIVATE=true in titan_server.py) and nothing listens on port 9, so
# deliveries fail and stay in the log, where the retry route can find them. The document's example
# (`https://example.com/titan`) would make the test depend on DNS.
HOOK_URL = "http://127.0.0.1:9/hook"
# Scope names in an error message: `area:verb`, or `*` on its own.
SCOPE_TOKEN = re.compile(r"(?<![\w*])(?:[a-z]+:[a-z]+|\*)(?![\w*])")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Operation:
    """One operation of the document that an API key can call."""

    method: str
    path: str
    scope: str
    spec: JSON

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    def path_parameters(self) -> List[str]:
        return re.findall(r"\{([^}]+)\}", self.path)


@dataclass
class Request:
    """A concrete request for an operation."""

    method: str
    url: str
    body: Optional[JSON] = None
    params: Dict[str, str] = field(default_factory=dict)
    headers: Dict[str, str] = field(default_factory=dict)


@dataclass
class Answer:
    status: int
    text: str
    json: Any

    @property
    def error(self) -> str:
        if isinstance(self.json, dict) and isinstance(self.json.get("error"), str):
            return str(self.json["error"])
        return ""


@dataclass
class World:
    """A sandbox server with the sessions, keys and webhooks the matrix needs."""

    base: str
    client: httpx.Client
    spec: JSON
    scopes: List[str]
    operations: List[Operation]
    root: str  # every scope, every session
    limited: str  # every scope, session `other` only
    limited_id: str
    hidden_key: str  # id of a key limited to `matrix`, which `limited` may not see
    hooks: Dict[str, str]  # webhook ids: "matrix", "other", "global" (no session filter)
    delivery: str  # a delivery of the `matrix` webhook


# --- the document ------------------------------------------------------------------------------


def resolve(spec: JSON, schema: JSON) -> JSON:
    """`schema`, following `$ref`s into `components`."""
    seen = 0
    while "$ref" in schema and seen < 16:
        ref = str(schema["$ref"])
        assert ref.startswith("#/"), f"external $ref {ref}"
        node: Any = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema, seen = node, seen + 1
    return schema


def scope_names(spec: JSON) -> List[str]:
    """Every scope: the `Scope` enum of the document, else the server's source."""
    schema = spec.get("components", {}).get("schemas", {}).get("Scope")
    if isinstance(schema, dict) and schema.get("enum"):
        return [str(s) for s in schema["enum"]]
    source = (ROOT / "server" / "src" / "model" / "scope.rs").read_text()
    names = re.findall(r'^\s*\w+ => "([^"]+)",', source, flags=re.M)
    assert names, "no scope list in the document nor in server/src/model/scope.rs"
    return names


def api_key_operations(spec: JSON) -> Tuple[List[Operation], List[str]]:
    """The operations an API key can call, and the names of those skipped (with no scope)."""
    operations: List[Operation] = []
    skipped: List[str] = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            name = f"{method.upper()} {path}"
            security = operation.get("security", spec.get("security", []))
            if not any("apiKey" in requirement for requirement in security):
                skipped.append(name)
                continue
            scopes = operation.get("x-scopes")
            assert isinstance(scopes, list) and len(scopes) == 1, f"{name}: x-scopes is {scopes!r}, not one scope"
            operations.append(Operation(method.upper(), path, str(scopes[0]), operation))
    return operations, skipped


def example_body(spec: JSON, operation: Operation) -> Optional[JSON]:
    """The operation's example JSON body (`{}` without one), or None if it takes no body."""
    content = operation.spec.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    example = content.get("example", resolve(spec, content.get("schema", {})).get("example"))
    body: JSON = copy.deepcopy(example) if isinstance(example, dict) else {}
    return body


def body_properties(spec: JSON, operation: Operation) -> List[str]:
    content = operation.spec.get("requestBody", {}).get("content", {}).get("application/json", {})
    return list(resolve(spec, content.get("schema", {})).get("properties", {}))


def build(spec: JSON, operation: Operation, session: str, values: Optional[Dict[str, str]] = None) -> Request:
    """A request for `operation` aimed at `session`: in the path, and in the body's `session`
    wherever the example body has one (a body naming another session than the path is a 400)."""
    values = dict(values or {})
    parameters = {p["name"]: p for p in operation.spec.get("parameters", []) if p.get("in") == "path"}
    path = operation.path
    for name in operation.path_parameters():
        if name == "session":
            value = session
        elif name in values:
            value = values[name]
        elif "example" in parameters.get(name, {}):
            value = str(parameters[name]["example"])
        else:
            value = DEFAULT_PARAMETERS[name]
        path = path.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
    body = example_body(spec, operation)
    if body is not None and "session" in body:
        body["session"] = session
    # A required query parameter gets the document's example, as a body does.
    params = {p["name"]: str(p.get("example", p.get("schema", {}).get("example")))
              for p in operation.spec.get("parameters", []) if p.get("in") == "query" and p.get("required")}
    return Request(operation.method, path, body, params=params)


def call(client: httpx.Client, key: str, request: Request) -> Answer:
    """Sends `request` with `key`; an event stream (a route that let the key in) is not read.

    Each request has a connection of its own (`Connection: close`): a route refuses a missing scope
    before reading the body, and when the 403 goes out before the body has arrived the server then
    closes the connection without saying so (no `Connection: close`), so the next request on a
    pooled connection can fail with "Server disconnected" (a few percent of them). That is a
    transport matter, not what this matrix checks."""
    headers = {"Authorization": f"Bearer {key}", "Connection": "close", **request.headers}
    try:
        with client.stream(request.method, request.url, json=request.body, params=request.params or None,
                           headers=headers) as response:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                return Answer(response.status_code, "<an event stream>", None)
            response.read()
            text = response.text
            try:
                parsed: Any = response.json()
            except ValueError:
                parsed = None
            return Answer(response.status_code, text, parsed)
    except httpx.HTTPError as error:
        return Answer(0, f"{type(error).__name__}: {error}", None)


def report(title: str, failures: Sequence[str]) -> str:
    return f"{title}: {len(failures)} mismatch(es)\n  " + "\n  ".join(failures)


# --- the server ---------------------------------------------------------------------------------


def mint(client: httpx.Client, label: str, scopes: Sequence[str], sessions: Optional[Sequence[str]] = None) -> JSON:
    body: JSON = {"label": label, "scopes": list(scopes)}
    if sessions is not None:
        body["sessions"] = list(sessions)
    response = client.post("/admin/keys", json=body, headers={"Authorization": f"Bearer {MASTER}"})
    assert response.status_code == 201, response.text
    data: JSON = response.json()["data"]
    return data


def ok(response: httpx.Response, *statuses: int) -> JSON:
    request = response.request
    assert response.status_code in (statuses or (200, 201)), \
        f"{request.method} {request.url}: {response.status_code} {response.text}"
    parsed: JSON = response.json() if response.content else {}
    return parsed


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    server = Server(
        tmp_path_factory.mktemp("scope-matrix"), sandbox=True,
        env={"TITAN_RATE_LIMIT": "100000", "TITAN_AUTH_FAILURE_LIMIT": "100000"},
    )
    client = httpx.Client(base_url=server.base, timeout=10)
    try:
        spec: JSON = client.get("/openapi.json").raise_for_status().json()
        scopes = scope_names(spec)
        operations, _ = api_key_operations(spec)
        root = str(mint(client, "matrix-root", ["*"])["key"])
        as_root = {"Authorization": f"Bearer {root}"}
        limited = mint(client, "matrix-limited", scopes, [OTHER])
        hidden_key = str(mint(client, "matrix-only", ["sessions:read"], [MATRIX])["id"])
        # Webhooks first, so that the sessions' first events are fanned out to them.
        hooks: Dict[str, str] = {}
        for name, session in ((MATRIX, MATRIX), (OTHER, OTHER), ("global", None)):
            body: JSON = {"url": HOOK_URL, "label": f"matrix-{name}"}
            if session is not None:
                body["session"] = session
            hooks[name] = str(ok(client.post("/api/webhooks", json=body, headers=as_root), 201)["data"]["id"])
        # Real sessions, started (each reports `session.status` events), so that a 403 cannot be a
        # 404 in disguise and the event stream has something of each session to show or hide.
        for session in (MATRIX, OTHER):
            ok(client.post("/api/sessions", json={"name": session, "start": True}, headers=as_root), 201)
        deadline = time.monotonic() + 15
        delivery = ""
        while not delivery:
            page = ok(client.get(f"/api/webhooks/{hooks[MATRIX]}/deliveries", headers=as_root))
            if page["data"]:
                delivery = str(page["data"][0]["id"])
            elif time.monotonic() > deadline:
                raise AssertionError("the `matrix` webhook got no delivery within 15 s")
            else:
                time.sleep(0.05)
        yield World(server.base, client, spec, scopes, operations, root, str(limited["key"]), str(limited["id"]),
                    hidden_key, hooks, delivery)
    finally:
        client.close()
        server.stop()


# --- the tests -----------------------------------------------------------------------------------


def test_every_api_route_declares_one_known_scope(world: World) -> None:
    """Nothing falls out of the matrix: every operation is either an API-key route with one scope
    of the `Scope` list, or an admin route or a probe (which no API key can call)."""
    operations, skipped = api_key_operations(world.spec)
    failures = [f"{o.name}: x-scopes names {o.scope!r}, not a scope" for o in operations if o.scope not in world.scopes]
    failures += [f"{o.name}: an API-key route outside /api" for o in operations if not o.path.startswith("/api/")]
    for name in skipped:
        path = name.split(" ", 1)[1]
        if not (path.startswith("/admin/") or path in ("/healthz", "/readyz")):
            failures.append(f"{name}: no API-key security, yet neither /admin nor a probe")
    assert not failures, report("operations outside the matrix", failures)
    assert len(operations) >= 40, f"only {len(operations)} API-key operations in the document"
    assert "*" in world.scopes and len(world.scopes) == len(set(world.scopes))


def test_a_key_without_the_required_scope_gets_403_naming_it(world: World) -> None:
    keys: Dict[str, str] = {}
    for scope in sorted({o.scope for o in world.operations}):
        # `*` implies every scope, so it is never held unless it is the one required.
        held = [s for s in world.scopes if s not in ("*", scope)]
        keys[scope] = str(mint(world.client, f"without {scope}", held)["key"])
    failures: List[str] = []
    for operation in world.operations:
        request = build(world.spec, operation, MATRIX)
        answer = call(world.client, keys[operation.scope], request)
        named = set(SCOPE_TOKEN.findall(answer.error))
        if answer.status != 403 or named != {operation.scope} or not isinstance(answer.json, dict) \
                or "docs" not in answer.json:
            failures.append(f"{request.method} {request.url} {json.dumps(request.body)} without"
                            f" {operation.scope!r}: {answer.status} {answer.text}")
    assert not failures, report(f"{len(world.operations)} operations called without their scope", failures)


@dataclass
class Case:
    """One request of the limited key and what it must get."""

    label: str
    request: Request
    status: int
    check: Callable[[Answer], Optional[str]]


def names_session(session: str) -> Callable[[Answer], Optional[str]]:
    expected = f"this key is not allowed to use session `{session}`"

    def check(answer: Answer) -> Optional[str]:
        return None if answer.error.startswith(expected) else f"expected an error starting {expected!r}"

    return check


def says(text: str) -> Callable[[Answer], Optional[str]]:
    def check(answer: Answer) -> Optional[str]:
        return None if answer.error == text else f"expected the error {text!r}"

    return check


def same_as(absent: Answer, real_id: str, absent_id: str) -> Callable[[Answer], Optional[str]]:
    """The answer for a hidden resource must be the answer for one that does not exist."""

    def check(answer: Answer) -> Optional[str]:
        expected = absent.error.replace(absent_id, real_id)
        if absent.status != 404:
            return f"the absent id itself got {absent.status} {absent.text}"
        return None if answer.error == expected else f"expected the not-found error {expected!r}"

    return check


def session_cases(world: World) -> Tuple[List[Case], List[Operation]]:
    """Every route that names a session: in the path, in the body (`session`, or `sessions` of a
    new key, or `name` of a new session). Each one runs `sessions::find` (or `require_session`
    directly), which checks the key's grant before the session's existence: 403 for `matrix`,
    which exists, and the same 403 for `ghost`, which does not, so a limited key cannot even learn
    which sessions exist. Nothing here may be a 404."""
    cases: List[Case] = []
    rest: List[Operation] = []
    for operation in world.operations:
        properties = body_properties(world.spec, operation)
        for session in (MATRIX, GHOST):
            request = build(world.spec, operation, session)
            if "{session}" in operation.path or (request.body is not None and "session" in request.body):
                pass
            elif operation.method == "POST" and operation.path == "/api/sessions":
                assert request.body is not None
                request.body["name"] = session
            elif operation.method == "POST" and "sessions" in properties:
                # POST /api/account/keys: the new key may only get sessions the caller has.
                assert request.body is not None
                request.body["sessions"] = [session]
            elif operation.method == "POST" and "session" in properties:
                # POST /api/webhooks: its example has no session filter; give it one.
                assert request.body is not None
                request.body.update(session=session, url=HOOK_URL)
            else:
                if session == MATRIX:
                    rest.append(operation)
                continue
            cases.append(Case(f"{operation.name} for session {session}", request, 403, names_session(session)))
    return cases, rest


def test_a_key_limited_to_another_session_is_refused(world: World) -> None:
    spec, by_name = world.spec, {o.name: o for o in world.operations}
    cases, rest = session_cases(world)

    def op(name: str) -> Operation:
        assert name in by_name, f"{name} is no longer in the document: update this test"
        return by_name[name]

    # Routes without a session in the path or the body. What each must answer, and why:
    handled: Dict[str, List[Case]] = {}

    # GET /api/events?session=matrix: `selection` calls `require_session` on the filter: 403.
    events = build(spec, op("GET /api/events"), MATRIX)
    events.params = {"session": MATRIX}
    handled["GET /api/events"] = [Case("GET /api/events?session=matrix", events, 403, names_session(MATRIX))]

    # POST /api/webhooks with no session filter: `webhooks::checks::session` refuses a
    # session-limited key a webhook for every session (it would receive `matrix`'s events): 403.
    create_hook = build(spec, op("POST /api/webhooks"), MATRIX)
    assert create_hook.body is not None
    create_hook.body.update(url=HOOK_URL)
    create_hook.body.pop("session", None)
    extra = [Case("POST /api/webhooks without a session filter", create_hook, 403,
                  says("this key is limited to some sessions: set `session` to one of them"))]
    # PATCH /api/webhooks/{id} of its own (`other`) webhook, moving it to `matrix`: 403.
    move = build(spec, op("PATCH /api/webhooks/{id}"), MATRIX, {"id": world.hooks[OTHER]})
    move.body = {"session": MATRIX}
    extra.append(Case("PATCH /api/webhooks/{id} moving its own webhook to matrix", move, 403, names_session(MATRIX)))

    # Routes that address a key or a webhook by id answer 404 for one the key may not see (a key
    # not within its grant, `keys::visible`; a webhook of another session or of every session,
    # `webhooks::crud::find`), exactly as for an id that does not exist: they hide existence, since
    # an id is not a name the caller chose. The absent ids are the document's examples.
    hidden: Dict[str, Dict[str, str]] = {
        "/api/account/keys/{id}": {"id": world.hidden_key},
        "/api/webhooks/{id}": {"id": world.hooks[MATRIX]},
        "/api/webhooks/{id}/deliveries": {"id": world.hooks[MATRIX]},
        "/api/webhooks/{id}/deliveries/{deliveryId}/retry": {"id": world.hooks[MATRIX], "deliveryId": world.delivery},
    }
    for operation in world.operations:
        if operation.path not in hidden:
            continue
        # The document's example ids, which exist nowhere: what "no such resource" looks like.
        absent = call(world.client, world.limited, build(spec, operation, MATRIX))
        example_id = next(str(p["example"]) for p in operation.spec.get("parameters", [])
                          if p.get("in") == "path" and p["name"] == "id")
        variants = [hidden[operation.path]]
        if operation.path.startswith("/api/webhooks/"):
            variants.append({**hidden[operation.path], "id": world.hooks["global"]})
        for values in variants:
            # The error names the id the route could not find: the key's or the webhook's.
            handled.setdefault(operation.name, []).append(Case(
                f"{operation.name} for a hidden resource ({values['id']})",
                build(spec, operation, MATRIX, values), 404, same_as(absent, values["id"], example_id),
            ))

    # The list routes answer 200 with only what the key may see; see the next test.
    for name in ("GET /api/sessions", "GET /api/account/keys", "GET /api/webhooks"):
        handled.setdefault(name, [])

    unexpected = sorted({o.name for o in rest} - set(handled))
    assert not unexpected, f"routes with no session in their path and no expectation here: {unexpected}"

    failures: List[str] = []
    all_cases = cases + extra + [case for group in handled.values() for case in group]
    for case in all_cases:
        answer = call(world.client, world.limited, case.request)
        reason = case.check(answer) if answer.status == case.status else f"expected {case.status}"
        if reason:
            failures.append(f"{case.label}: {case.request.method} {case.request.url} {json.dumps(case.request.body)}"
                            f" -> {answer.status} {answer.text} ({reason})")
    # The root key sees what was hidden: the 404s above hid something that exists.
    for path in (f"/api/account/keys/{world.hidden_key}", f"/api/webhooks/{world.hooks[MATRIX]}",
                 f"/api/webhooks/{world.hooks['global']}"):
        answer = call(world.client, world.root, Request("GET", path))
        if answer.status != 200:
            failures.append(f"setup: GET {path} with the root key -> {answer.status} {answer.text}")
    assert not failures, report(f"{len(all_cases)} requests of a key limited to session `other`", failures)


def stream_sessions(world: World, key: str, seconds: float = 1.5) -> List[str]:
    """The `session` of every event the stream replays to `key` (from the first event on)."""
    sessions: List[str] = []
    headers = {"Authorization": f"Bearer {key}", "Last-Event-ID": "evt_0"}
    timeout = httpx.Timeout(10, read=seconds)
    try:
        with world.client.stream("GET", "/api/events", headers=headers, timeout=timeout) as response:
            assert response.status_code == 200, f"GET /api/events: {response.status_code} {response.read()!r}"
            for line in response.iter_lines():
                if line.startswith("data:"):
                    sessions.append(str(json.loads(line[5:]).get("session")))
    except httpx.ReadTimeout:
        pass  # the replay is over and the stream idles
    return sessions


def test_a_key_limited_to_another_session_lists_only_its_own(world: World) -> None:
    """The list routes answer 200 but show a limited key only what is within its grant; each
    check also needs something of its own to show, so an empty answer cannot pass."""
    failures: List[str] = []

    def listed(path: str, key: str) -> List[JSON]:
        answer = call(world.client, key, Request("GET", path, params={"limit": "200"}))
        if answer.status != 200 or not isinstance(answer.json, dict):
            failures.append(f"GET {path}: {answer.status} {answer.text}")
            return []
        return list(answer.json.get("data", []))

    names = [str(s["name"]) for s in listed("/api/sessions", world.limited)]
    if names != [OTHER]:
        failures.append(f"GET /api/sessions lists {names}, not just [{OTHER!r}]")

    # Only keys limited to `other` (or to fewer sessions); a key without `sessions` may use every
    # session, `matrix` included, and must not be listed.
    keys = listed("/api/account/keys", world.limited)
    outside = [(k["id"], k.get("sessions")) for k in keys if not set(k.get("sessions") or [MATRIX]) <= {OTHER}]
    if outside or world.limited_id not in [k["id"] for k in keys]:
        failures.append(f"GET /api/account/keys lists keys outside session {OTHER!r} {outside},"
                        f" or not the caller ({len(keys)} listed)")

    hooks = {str(h["id"]): h.get("session") for h in listed("/api/webhooks", world.limited)}
    if hooks != {world.hooks[OTHER]: OTHER}:
        failures.append(f"GET /api/webhooks lists {hooks}, not just the `other` webhook {world.hooks[OTHER]}")

    everyone = set(stream_sessions(world, world.root))
    seen = stream_sessions(world, world.limited)
    if not {MATRIX, OTHER} <= everyone:
        failures.append(f"setup: the root key's replay has events of {sorted(everyone)}, not of both sessions")
    if not seen or set(seen) != {OTHER}:
        failures.append("GET /api/events (replayed with Last-Event-ID) shows the limited key events of"
                        f" {sorted(set(seen))}")
    assert not failures, report("lists seen by a key limited to session `other`", failures)
