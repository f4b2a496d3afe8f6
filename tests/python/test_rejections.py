"""Rejected requests change nothing (issue 20): for every mutating operation of the served OpenAPI
document (POST, PUT, PATCH and DELETE under /api and /admin), requests the server must refuse get a
4xx in the `{"error", "docs"}` envelope and leave every row of the database as it was, on SQLite
and on PostgreSQL (when TITAN_TEST_DATABASE_URL is set).

The cases are generated from the document, so an operation added later is covered the day it
lands (the test fails if one has no case): no or a wrong credential, a key without the operation's
scope, a key limited to another session, unknown path ids, bodies that are not objects, carry an
unknown field, are not JSON or give a field the wrong type, and, on POST, an invalid
`Idempotency-Key`, one reused with a different request, and a fresh one on a refused request.
Hand-written cases add what the schema cannot say (lengths, ranges, duplicates, sessions that are
not running). Where a guard could fail open, the request is otherwise valid, so that a regression
would do the work and change rows.

After every request the database is snapshotted (every table: row count and an order-independent
checksum of all rows) and compared with the snapshot before it. No table is excluded, because
nothing writes in the background here: no session is ever started (sessions are what write the
events outbox and the device tables), the webhook is disabled (so no delivery is queued and
retried), the rate-limit and auth-failure counters and the key cache live in memory
(ratelimit.rs, auth/), and the pruners of idempotency records and of the outbox run hourly and
every ten minutes, first at startup, before the baseline. On PostgreSQL the server's heartbeat and
lease renewals (cluster.rs) rewrite two timestamps every few seconds, so `servers` and `leases`
are compared without them: who is registered, and who holds which lease with which token, must
still not change. `idempotency_keys` stays in: a refused
request that left a record there would have its refusal replayed to a retry with the same key
(idempotency.rs), which changes a later answer. The baseline and the end are taken once the
database has stayed the same for a second, which checks that it is idle.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple, Union

import httpx
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from titan_server import MASTER, Server  # noqa: E402

# Table name -> (row count, checksum of all rows).
Snapshot = Dict[str, Tuple[int, str]]
Headers = Dict[str, Union[str, bytes]]

MUTATING = ("post", "put", "patch", "delete")
CHAT = "15550002222@s.whatsapp.net"
# Well-formed ids that name nothing.
UNKNOWN_KEY = "key_01AAAAAAAAAAAAAAAAAAAAAAAA"
UNKNOWN_WEBHOOK = "wh_01AAAAAAAAAAAAAAAAAAAAAAAA"
UNKNOWN_DELIVERY = "dlv_01AAAAAAAAAAAAAAAAAAAAAAAA"
UNKNOWN_MEDIA = "med_01AAAAAAAAAAAAAAAAAAAAAAAA"
UNKNOWN_GROUP = "123456789-123@g.us"
# The Idempotency-Key every setup POST used, so that a reuse with another request is a mismatch.
SETUP_IDEMPOTENCY_KEY = "rejections-setup"


# --- The databases -------------------------------------------------------------------------------


class Sqlite:
    """The server's SQLite file, read through a read-only connection."""

    name = "sqlite"

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self.env: Dict[str, str] = {}  # Server uses <data_dir>/titan.db by default

    def snapshot(self) -> Snapshot:
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            tables = [row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            snapshot: Snapshot = {}
            for table in tables:
                rows = sorted(repr(row) for row in connection.execute(f'SELECT * FROM "{table}"'))
                snapshot[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
            return snapshot
        finally:
            connection.close()

    def drop(self) -> None:
        pass


# One query for the whole snapshot: every table of the public schema with its row count and the
# md5 of its rows' text forms in sorted order (query_to_xml runs the per-table query that the
# table's name makes, so the table list is read in the same statement).
POSTGRES_SNAPSHOT = """
SELECT t.table_name,
       (xpath('/row/c/text()', x.doc))[1]::text,
       (xpath('/row/h/text()', x.doc))[1]::text
FROM information_schema.tables t,
     LATERAL (SELECT query_to_xml(format(
         'SELECT count(*) AS c, md5(coalesce(string_agg(r::text, %L ORDER BY r::text), %L)) AS h FROM %I.%I r',
         '|', '', t.table_schema, t.table_name), false, true, '') AS doc) x
WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND t.table_name NOT IN ('servers', 'leases')
ORDER BY t.table_name
"""

# The cluster tables without the times their owner's heartbeat and renewals rewrite.
POSTGRES_CLUSTER_SNAPSHOT = """
SELECT 'servers', count(*), md5(coalesce(string_agg(id || ',' || address || ',' || started_at, '|' ORDER BY id), ''))
FROM servers
UNION ALL
SELECT 'leases', count(*), md5(coalesce(string_agg(kind || ',' || name || ',' || owner || ',' || token, '|'
       ORDER BY kind, name), ''))
FROM leases
"""


def psql(url: str, sql: str) -> str:
    done = subprocess.run(["psql", url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"psql failed: {done.stderr.strip()}")
    return done.stdout


class Postgres:
    """A fresh database next to the one TITAN_TEST_DATABASE_URL names (same host and user)."""

    name = "postgres"

    def __init__(self, base_url: str) -> None:
        self.admin_url = base_url
        self.database = f"titan_rejections_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.url = urllib.parse.urlparse(base_url)._replace(path=f"/{self.database}").geturl()
        psql(self.admin_url, f"CREATE DATABASE {self.database}")
        self.env = {"DATABASE_URL": self.url}

    def snapshot(self) -> Snapshot:
        snapshot: Snapshot = {}
        for line in (psql(self.url, POSTGRES_SNAPSHOT) + psql(self.url, POSTGRES_CLUSTER_SNAPSHOT)).splitlines():
            table, count, checksum = line.split("|")
            snapshot[table] = (int(count), checksum)
        return snapshot

    def drop(self) -> None:
        psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


Database = Union[Sqlite, Postgres]


def settled(database: Database, interval: float = 1.0, timeout: float = 20.0) -> Snapshot:
    """A snapshot once the database has stayed the same for `interval` seconds."""
    deadline = time.monotonic() + timeout
    previous = database.snapshot()
    while True:
        time.sleep(interval)
        current = database.snapshot()
        if current == previous:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"the database keeps changing while idle: {changes(previous, current)}")
        previous = current


def changes(before: Snapshot, after: Snapshot) -> str:
    """The tables whose rows differ, with their row counts before and after."""
    differing = []
    for table in sorted(set(before) | set(after)):
        if before.get(table) != after.get(table):
            count_before = before[table][0] if table in before else "absent"
            count_after = after[table][0] if table in after else "absent"
            differing.append(f"{table} ({count_before} -> {count_after} rows)")
    return ", ".join(differing)


# --- The cases -----------------------------------------------------------------------------------


@dataclass
class Case:
    """One request the server must refuse."""

    operation: str  # "POST /api/sessions", as the document names the operation
    why: str
    method: str
    path: str
    headers: Headers = field(default_factory=dict)
    content: Optional[bytes] = None
    expect: Optional[Set[int]] = None  # the statuses the case is about, when one is definitional

    def describe(self) -> str:
        shown = (self.content or b"")[:120].decode(errors="replace")
        return f"{self.operation} [{self.why}]: {self.method} {self.path} {shown}".rstrip()


@dataclass
class Setup:
    """What the test created before its baseline."""

    key: str  # every scope
    reader: str  # only sessions:read
    limited: str  # every scope, limited to the session "elsewhere"
    target: str  # the id of a key that key routes name (not the reader: a PATCH that got through
    # could disable it, and the cases after it would answer 401 for the wrong reason)
    webhook: str


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def resolve(spec: Dict[str, Any], schema: Dict[str, Any]) -> Dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def json_types(spec: Dict[str, Any], schema: Dict[str, Any]) -> Set[str]:
    """The JSON types a schema admits (empty when it does not say)."""
    schema = resolve(spec, schema)
    kinds: Set[str] = set()
    declared = schema.get("type")
    if isinstance(declared, str):
        kinds.add(declared)
    elif isinstance(declared, list):
        kinds.update(declared)
    for variant in schema.get("oneOf", []) + schema.get("anyOf", []):
        kinds |= json_types(spec, variant)
    for value in schema.get("enum", []):
        kinds.add({str: "string", bool: "boolean", int: "integer", float: "number"}.get(type(value), "null"))
    if "number" in kinds:
        kinds.add("integer")
    return kinds


def wrong_value(spec: Dict[str, Any], schema: Dict[str, Any]) -> Optional[Any]:
    """A value of a JSON type the schema does not admit."""
    admitted = json_types(spec, schema)
    if not admitted:
        return None
    candidates: List[Tuple[str, Any]] = [
        ("integer", 12345), ("string", "wrong"), ("boolean", True), ("array", ["wrong"]), ("object", {"wrong": 1})]
    return next(value for kind, value in candidates if kind not in admitted)


def path_values(path: str, setup: Setup) -> Dict[str, str]:
    """Path parameters that name things that exist."""
    return {
        "session": "kept",
        "id": setup.webhook if path.startswith("/api/webhooks") else setup.target,
        "deliveryId": UNKNOWN_DELIVERY,  # no event was delivered: there is no delivery to name
        "mediaId": UNKNOWN_MEDIA,  # no message carried a file: there is no media to name
        "groupId": UNKNOWN_GROUP,  # no group was made: there is no group to name
        "labelId": "4242",  # no label was made: there is no label to name
        "channelId": "120363000000000099@newsletter",  # no channel was made: there is none to name
        "code": "NoSuchInviteCode",
        "contactId": CHAT,
        "chatId": CHAT,
        "lid": "123456789@lid",
        "phoneNumber": "5511999999999",
    }


def unknown_value(path: str, parameter: str) -> str:
    """A value for `parameter` that names nothing (or, for chats, is not a JID)."""
    if parameter == "session":
        return "ghost"
    if parameter == "id":
        return UNKNOWN_WEBHOOK if path.startswith("/api/webhooks") else UNKNOWN_KEY
    if parameter == "deliveryId":
        return UNKNOWN_DELIVERY
    if parameter == "mediaId":
        return UNKNOWN_MEDIA
    if parameter == "groupId":
        return UNKNOWN_GROUP
    return "not-a-jid"


def fill(path: str, values: Dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
    assert "{" not in path, f"no value for a parameter of {path}"
    return path


# Valid bodies where the document's example would not do (the example names a session that does
# not exist, or would start one); every other operation uses its schema's example.
VALID_BODIES: Dict[str, Any] = {
    "adminCreateKey": {"label": "fresh", "scopes": ["sessions:read"]},
    "createKey": {"label": "fresh", "scopes": ["sessions:read"]},
    "createSession": {"name": "fresh"},
    "updateSession": {"proxy": "socks5://127.0.0.1:1080"},
    "sendMessage": {"session": "kept", "chatId": CHAT, "type": "text", "text": "hi"},
    "sendSessionMessage": {"chatId": CHAT, "type": "text", "text": "hi"},
    "createWebhook": {"url": "http://127.0.0.1:9/other"},
}

# The operations that drive a session rather than ask it to talk to WhatsApp: on `kept` they would
# succeed (stop a stopped session) or start it, so they get no "session not running" case.
LIFECYCLE = {"startSession", "stopSession", "restartSession", "logoutSession"}


def valid_body(spec: Dict[str, Any], operation: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    body = operation.get("requestBody")
    if not body:
        return None
    if operation["operationId"] in VALID_BODIES:
        return dict(VALID_BODIES[operation["operationId"]])
    schema = resolve(spec, body["content"]["application/json"]["schema"])
    assert "example" in schema, f"{operation['operationId']}: give it a valid body in VALID_BODIES"
    return dict(schema["example"])


def generated(spec: Dict[str, Any], setup: Setup) -> List[Case]:
    """The cases the document's description of each mutating operation gives."""
    cases: List[Case] = []
    fresh = iter(range(1, 1_000_000))
    for path, item in spec["paths"].items():
        if not (path.startswith("/api/") or path.startswith("/admin/")):
            continue
        for method in MUTATING:
            operation = item.get(method)
            if operation is None:
                continue
            name = f"{method.upper()} {path}"
            admin = path.startswith("/admin/")
            real = fill(path, path_values(path, setup))
            body = valid_body(spec, operation)
            content = as_json(body) if body is not None else None
            json_header: Headers = {"Content-Type": "application/json"} if body is not None else {}
            own: Headers = {"Authorization": f"Bearer {MASTER if admin else setup.key}", **json_header}

            def case(why: str, url: str, headers: Headers, payload: Optional[bytes],
                     expect: Optional[Set[int]] = None, _name: str = name, _method: str = method) -> None:
                cases.append(Case(_name, why, _method.upper(), url, headers, payload, expect))

            # Credentials and permissions, with an otherwise valid request.
            case("no credentials", real, dict(json_header), content, {401})
            case("an unknown key", real, {**json_header, "Authorization": "Bearer titan_not-a-key"}, content, {401})
            scopes = operation.get("x-scopes", [])
            if admin:
                case("an API key instead of the master key", real,
                     {**json_header, "Authorization": f"Bearer {setup.key}"}, content, {401})
            else:
                assert scopes and "sessions:read" not in scopes, f"{name}: which scope does it need?"
                reader: Headers = {**json_header, "Authorization": f"Bearer {setup.reader}"}
                case("a key with only sessions:read", real, reader, content, {403})
            names_session = "{session}" in path or (body is not None and "session" in body)
            if names_session and not admin:
                case("a key limited to another session", real,
                     {**json_header, "Authorization": f"Bearer {setup.limited}"}, content, {403, 404})

            # Path parameters that name nothing.
            for parameter in [p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"]:
                values = path_values(path, setup)
                values[parameter] = unknown_value(path, parameter)
                expect = {404} if parameter in ("session", "id", "deliveryId") else None
                case(f"unknown {parameter}", fill(path, values), own, content, expect)

            # Bodies the schema refuses.
            if body is not None:
                schema = resolve(spec, operation["requestBody"]["content"]["application/json"]["schema"])
                for shape in ([None], [None, None], None, "text", 7):
                    case(f"body {json.dumps(shape)} is not an object", real, own, as_json(shape))
                if schema.get("required"):
                    case("body {} lacks required fields", real, own, as_json({}))
                # serde also reads a struct from a sequence of its fields in order: a valid body's
                # values as an array would do the work if that form were accepted.
                properties = list(schema.get("properties", {}))
                if body:
                    last = max(properties.index(prop) for prop in body)
                    positional = [body.get(prop) for prop in properties[:last + 1]]
                    case("the valid body's values as an array", real, own, as_json(positional))
                case("an unknown field", real, own, as_json({**body, "unknownField": True}))
                case("truncated JSON", real, own, as_json(body)[:-1])
                case("not JSON (text/plain)", real, {**own, "Content-Type": "text/plain"}, content)
                for prop, prop_schema in schema.get("properties", {}).items():
                    value = wrong_value(spec, prop_schema)
                    if value is not None:
                        case(f"{prop} = {json.dumps(value)} (wrong type)", real, own, as_json({**body, prop: value}))

            # WhatsApp work for `kept`, which is not running (or has no such message in its history).
            talks_to_whatsapp = "{session}" in path and "202" in operation["responses"]
            if (talks_to_whatsapp and operation["operationId"] not in LIFECYCLE) or operation["operationId"] == "sendMessage":
                case("valid request, session not running", real, own, content)

            # Idempotency keys, on POST (the only method that honours them).
            if method == "post":
                for why, key in (("Idempotency-Key of 300 characters", "k" * 300),
                                 ("empty Idempotency-Key", ""),
                                 ("Idempotency-Key not ASCII", "clé".encode())):
                    case(why, real, {**own, "Idempotency-Key": key}, content, {400})
                case("Idempotency-Key reused with a different request", real,
                     {**own, "Idempotency-Key": SETUP_IDEMPOTENCY_KEY}, content, {422})
                # A refused request must not record its key: a retry with the same key, once the
                # cause is gone (say, the session now exists), would get the
                # refusal replayed instead of running.
                if admin:
                    case("fresh Idempotency-Key, body not an object", real,
                         {**own, "Idempotency-Key": f"refused-{next(fresh)}"}, as_json([None]))
                else:
                    case("fresh Idempotency-Key, a key with only sessions:read", real,
                         {**json_header, "Authorization": f"Bearer {setup.reader}",
                          "Idempotency-Key": f"refused-{next(fresh)}"}, content, {403})
    return cases


def handwritten(setup: Setup) -> List[Case]:
    """What the schema cannot say: lengths, ranges, formats, duplicates."""
    own: Headers = {"Authorization": f"Bearer {setup.key}", "Content-Type": "application/json"}
    master: Headers = {"Authorization": f"Bearer {MASTER}", "Content-Type": "application/json"}
    cases: List[Case] = []
    body: Any
    extra: Dict[str, Any]
    base: Dict[str, Any]
    expect: Optional[Set[int]]

    def add(operation: str, why: str, body: Any, expect: Optional[Set[int]] = None,
            path: Optional[str] = None, headers: Optional[Headers] = None) -> None:
        method, template = operation.split(" ", 1)
        url = path or fill(template, path_values(template, setup))
        content = body if isinstance(body, bytes) else as_json(body)
        cases.append(Case(operation, why, method, url, headers or own, content, expect))

    for operation, headers in (("POST /admin/keys", master), ("POST /api/account/keys", own)):
        for why, body in (
            ("label of 101 characters", {"label": "l" * 101, "scopes": ["sessions:read"]}),
            ("empty label", {"label": "", "scopes": ["sessions:read"]}),
            ("no scopes", {"label": "x", "scopes": []}),
            ("unknown scope", {"label": "x", "scopes": ["sessions:destroy"]}),
            ("lifetimeDays 0", {"label": "x", "scopes": ["sessions:read"], "lifetimeDays": 0}),
            ("lifetimeDays 3651", {"label": "x", "scopes": ["sessions:read"], "lifetimeDays": 3651}),
            ("lifetimeDays -1", {"label": "x", "scopes": ["sessions:read"], "lifetimeDays": -1}),
            ("lifetimeDays 2^32", {"label": "x", "scopes": ["sessions:read"], "lifetimeDays": 2 ** 32}),
            ("session name with a slash", {"label": "x", "scopes": ["sessions:read"], "sessions": ["a/b"]}),
        ):
            add(operation, why, body, headers=headers)
    add("POST /api/account/keys", "a session the caller may not use",
        {"label": "x", "scopes": ["sessions:read"], "sessions": ["kept"]}, {403},
        headers={**own, "Authorization": f"Bearer {setup.limited}"})
    for operation, headers in (("PATCH /admin/keys/{id}", master), ("PATCH /api/account/keys/{id}", own)):
        add(operation, "label of 101 characters", {"label": "l" * 101}, headers=headers)
        add(operation, "empty label", {"label": ""}, headers=headers)

    for why, body, expect in (
        ("duplicate name", {"name": "kept"}, {409}),
        ("name with a slash", {"name": "a/b"}, None),
        ("empty name", {"name": ""}, None),
        ("name of 65 characters", {"name": "n" * 65}, None),
        ("name starting with a dot", {"name": ".hidden"}, None),
        ("name with a space", {"name": "two words"}, None),
        ("proxy with another scheme", {"name": "fresh", "proxy": "ftp://127.0.0.1:21"}, None),
        ("proxy that is not a URL", {"name": "fresh", "proxy": "not a url"}, None),
        ("proxy without a port", {"name": "fresh", "proxy": "http://127.0.0.1"}, None),
        ("config with an unknown field", {"name": "fresh", "config": {"unknown": 1}}, None),
    ):
        add("POST /api/sessions", why, body, expect)
    add("POST /api/sessions", "body over the limit (1 MiB)", b'{"name": "' + b"n" * (1024 * 1024) + b'"}', {413})
    add("PATCH /api/sessions/{session}", "proxy with another scheme", {"proxy": "ftp://127.0.0.1:21"})
    add("PATCH /api/sessions/{session}", "config with an unknown field", {"config": {"unknown": 1}})

    text = {"chatId": CHAT, "type": "text"}
    for operation, extra in (("POST /api/messages/send", {"session": "kept"}), ("POST /api/sessions/{session}/messages/send", {})):
        for why, body in (
            ("empty text", {**extra, **text, "text": ""}),
            ("text of 65,537 characters", {**extra, **text, "text": "t" * 65537}),
            ("text message without text", {**extra, **text}),
            ("chatId that is not a JID", {**extra, **text, "chatId": "not-a-jid", "text": "hi"}),
            ("poll with one option", {**extra, "chatId": CHAT, "type": "poll", "name": "q", "options": ["a"]}),
            ("poll with duplicate options", {**extra, "chatId": CHAT, "type": "poll", "name": "q", "options": ["a", "a"]}),
            ("poll with 13 options", {**extra, "chatId": CHAT, "type": "poll", "name": "q",
                                      "options": [str(i) for i in range(13)]}),
            ("257 mentions", {**extra, **text, "text": "hi", "mentions": [CHAT] * 257}),
        ):
            add(operation, why, body)
    add("POST /api/messages/send", "no session", {**text, "text": "hi"})
    add("POST /api/messages/send", "unknown session", {**text, "session": "ghost", "text": "hi"}, {404})
    add("POST /api/sessions/{session}/messages/send", "body names another session",
        {**text, "session": "other", "text": "hi"})
    add("POST /api/sessions/{session}/messages/seen", "no message ids", {"chatId": CHAT, "messageIds": []})
    add("POST /api/sessions/{session}/messages/seen", "257 message ids",
        {"chatId": CHAT, "messageIds": [f"M{i}" for i in range(257)]})
    add("POST /api/sessions/{session}/messages/typing", "unknown state", {"chatId": CHAT, "state": "dancing"})
    add("POST /api/sessions/{session}/presence", "unknown presence", {"presence": "busy"})
    add("PUT /api/sessions/{session}/profile/name", "empty name", {"value": ""})
    add("PUT /api/sessions/{session}/profile/name", "name of 26 characters", {"value": "p" * 26})
    add("POST /api/sessions/{session}/pairing/code", "phone number with letters", {"phoneNumber": "+1555abc"})
    add("POST /api/sessions/{session}/groups/join", "empty code", {"code": ""})

    hook = "http://127.0.0.1:9/other"
    for operation, base in (("POST /api/webhooks", {"url": hook}), ("PATCH /api/webhooks/{id}", {})):
        for why, body in (
            ("hmacKey of 3 characters", {**base, "hmacKey": "abc"}),
            ("hmacKey of 257 characters", {**base, "hmacKey": "h" * 257}),
            ("retries.attempts 0", {**base, "retries": {"attempts": 0}}),
            ("retries.attempts 51", {**base, "retries": {"attempts": 51}}),
            ("retries.attempts 2^32", {**base, "retries": {"attempts": 2 ** 32}}),
            ("retries.delaySeconds 3601", {**base, "retries": {"delaySeconds": 3601}}),
            ("unknown retry policy", {**base, "retries": {"policy": "random"}}),
            ("url with another scheme", {**base, "url": "ftp://127.0.0.1/hook"}),
            ("url that is not a URL", {**base, "url": "not a url"}),
            ("unknown event type", {**base, "events": ["message.exploded"]}),
            ("session name with a slash", {**base, "session": "a/b"}),
            ("header value that is not a string", {**base, "headers": {"X-Token": 1}}),
            ("header name that is not a header name", {**base, "headers": {"Bad Header": "v"}}),
            ("label of 101 characters", {**base, "label": "l" * 101}),
        ):
            add(operation, why, body)
    add("POST /api/webhooks", "no url", {"events": ["*"]})
    add("POST /api/webhooks/{id}/deliveries/{deliveryId}/retry", "unknown webhook and delivery", None, {404},
        path=f"/api/webhooks/{UNKNOWN_WEBHOOK}/deliveries/{UNKNOWN_DELIVERY}/retry")
    return cases


# --- The test ------------------------------------------------------------------------------------


def call(client: httpx.Client, case: Case) -> httpx.Response:
    headers = [(name.encode(), value if isinstance(value, bytes) else value.encode())
               for name, value in case.headers.items()]
    return client.request(case.method, case.path, headers=headers, content=case.content)


def prepare(client: httpx.Client) -> Setup:
    """Keys, a session (never started) and a webhook, each made with SETUP_IDEMPOTENCY_KEY."""
    once = {"Idempotency-Key": SETUP_IDEMPOTENCY_KEY}

    def created(response: httpx.Response) -> Dict[str, Any]:
        assert response.status_code == 201, response.text
        data: Dict[str, Any] = response.json()["data"]
        return data

    key = created(client.post("/admin/keys", json={"label": "x", "scopes": ["*"]},
                              headers={"Authorization": f"Bearer {MASTER}", **once}))["key"]
    own = {"Authorization": f"Bearer {key}"}
    # The session comes first, so its session.status event is fanned out to no webhook; and the
    # webhook is disabled, so that an event a wrongly accepted request writes queues no delivery
    # for the dispatcher to retry in the background (it would change rows under later cases).
    created(client.post("/api/sessions", json={"name": "kept"}, headers={**own, **once}))
    webhook = created(client.post("/api/webhooks", json={"url": "http://127.0.0.1:9/hook", "enabled": False},
                                  headers=own))["id"]
    reader = created(client.post("/api/account/keys", json={"label": "reader", "scopes": ["sessions:read"]},
                                 headers=own))
    limited = created(client.post("/api/account/keys", json={"label": "limited", "scopes": ["*"],
                                                             "sessions": ["elsewhere"]}, headers=own))["key"]
    target = created(client.post("/api/account/keys", json={"label": "target", "scopes": ["sessions:read"]},
                                 headers=own))["id"]
    return Setup(key=key, reader=reader["key"], limited=limited, target=target, webhook=webhook)


def problem_with(response: httpx.Response, case: Case) -> Optional[str]:
    status = response.status_code
    if not 400 <= status < 500:
        return f"answered {status}, not a 4xx: {response.text[:200]}"
    if case.expect is not None and status not in case.expect:
        return f"answered {status}, expected {sorted(case.expect)}: {response.text[:200]}"
    try:
        body = response.json()
    except ValueError:
        return f"answered {status} without a JSON body: {response.text[:200]}"
    if not (isinstance(body, dict) and set(body) == {"error", "docs"}
            and isinstance(body["error"], str) and body["error"] and isinstance(body["docs"], str)):
        return f"answered {status} outside the {{error, docs}} envelope: {response.text[:200]}"
    return None


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[Database]:
    if request.param == "sqlite":
        yield Sqlite(tmp_path / "titan.db")
        return
    base = os.environ.get("TITAN_TEST_DATABASE_URL")
    if not base:
        assert not os.environ.get("CI"), "CI must set TITAN_TEST_DATABASE_URL"
        pytest.skip("TITAN_TEST_DATABASE_URL is not set: skipping the PostgreSQL run")
    instance = Postgres(base)
    try:
        yield instance
    finally:
        instance.drop()


def test_rejected_requests_change_no_rows(tmp_path: pathlib.Path, database: Database) -> None:
    server = Server(tmp_path, sandbox=True, env={
        **database.env, "TITAN_RATE_LIMIT": "100000", "TITAN_AUTH_FAILURE_LIMIT": "100000"})
    try:
        # One connection per request: a refusal may close its connection before reading the body.
        with httpx.Client(base_url=server.base, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            spec = client.get("/openapi.json").json()
            setup = prepare(client)
            cases = generated(spec, setup) + handwritten(setup)

            operations = {f"{method.upper()} {path}" for path, item in spec["paths"].items()
                          if path.startswith(("/api/", "/admin/")) for method in MUTATING if method in item}
            covered = {case.operation for case in cases}
            assert operations - covered == set(), "mutating operations without a rejected case"
            assert covered - operations == set(), "hand-written cases for operations the document lacks"

            problems: List[str] = []
            before = start = settled(database)
            for case in cases:
                try:
                    problem = problem_with(call(client, case), case)
                except httpx.HTTPError as error:
                    problem = f"no answer: {error!r}"
                after = database.snapshot()
                if after != before:
                    problem = "; ".join(filter(None, [problem, f"changed rows: {changes(before, after)}"]))
                    after = settled(database, interval=0.25)  # a new baseline, so the next case is judged alone
                if problem:
                    problems.append(f"{case.describe()}\n    {problem}")
                before = after
            # Writes that a request left for later (none expected: nothing runs in the background).
            end = settled(database)
            if end != before:
                problems.append(f"the database changed after the requests: {changes(before, end)}")
            print(f"{database.name}: {len(cases)} rejected requests over {len(operations)} mutating operations; "
                  f"{len(problems)} problems; tables {changes(start, end) or 'unchanged'}")
            assert not problems, f"{len(problems)} of {len(cases)} rejected requests misbehaved:\n" + "\n".join(problems)
    finally:
        server.stop()
