"""Property-based fuzzing of the whole API with schemathesis, from the served OpenAPI document.

A sandbox server with two linked sessions, `fresh` (new) and `chatty` (which has exchanged
messages with a third, `peer`), is fuzzed with every check (`--checks all`) through the examples,
coverage, fuzzing and stateful phases; the stateful phase follows the document's links (create a
session, key or webhook, then get, change and delete it). Any finding fails the test unless
`fuzz_allowlist.toml` lists it with its reason. Every route in the document is fuzzed, so a new
endpoint is fuzzed the day it lands.

The figures (requests, findings, time) are printed; set TITAN_FUZZ_EXAMPLES to fuzz harder.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import time
import tomllib
from typing import Any, Dict, Iterator, List, Tuple

import httpx
import pytest

from conftest import link
from titan_server import MASTER, Server

HERE = pathlib.Path(__file__).parent
ALLOWLIST = HERE / "fuzz_allowlist.toml"

# Sessions the fuzzer's session parameters are drawn from half of the time (the rest are random).
FRESH, CHATTY, PEER = ("fresh", "15550003333"), ("chatty", "15550004444"), ("peer", "15550005555")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[Server, str]]:
    """The fuzzed server and an API key with every scope."""
    server = Server(
        tmp_path_factory.mktemp("fuzz"),
        sandbox=True,
        # Limits high enough that the fuzzer meets the API rather than the rate limiter.
        env={"TITAN_RATE_LIMIT": "10000000", "TITAN_AUTH_FAILURE_LIMIT": "10000000"},
    )
    admin = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {MASTER}"}, timeout=60)
    key = admin.post("/admin/keys", json={"label": "fuzz", "scopes": ["*"]}).json()["data"]["key"]
    client = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    for name, number in (FRESH, CHATTY, PEER):
        link(client, server, name, number)
    for turn in range(3):
        for sender, receiver in ((CHATTY, PEER), (PEER, CHATTY)):
            sent = client.post(
                f"/api/sessions/{sender[0]}/messages/send",
                json={"chatId": f"{receiver[1]}@s.whatsapp.net", "type": "text", "text": f"hello {turn}"},
            )
            assert sent.status_code == 201, sent.text
    yield server, key
    server.stop()


def config(directory: pathlib.Path, key: str) -> pathlib.Path:
    """The schemathesis configuration: credentials per security scheme, known values for
    session and chat parameters, and limits on the event stream."""
    chats = [f"{number}@s.whatsapp.net" for _, number in (FRESH, CHATTY, PEER)]
    text = f"""
max-stream-events = 2
request-timeout = 20

[dictionaries.sessions]
values = {json.dumps([FRESH[0], CHATTY[0]])}

[dictionaries.chats]
values = {json.dumps(chats)}

[parameters]
"path.session" = {{ dictionary = "sessions", probability = 0.5 }}
"path.chatId" = {{ dictionary = "chats", probability = 0.5 }}

[headers]
Authorization = "Bearer {key}"

[[operations]]
include-path-regex = "^/admin/"
headers = {{ Authorization = "Bearer {MASTER}" }}
"""
    path = directory / "schemathesis.toml"
    path.write_text(text)
    return path


def cases_by_finding(log: str) -> Dict[Tuple[str, str], List[str]]:
    """The text of each failing test case in schemathesis's output, by (operation, check code):
    the JSON report names a finding's code and operation but not what the server answered."""
    found: Dict[Tuple[str, str], List[str]] = {}
    parts = re.split(r"\n_{3,} (.+?) _{3,}\n", log)
    for operation, body in zip(parts[1::2], parts[2::2]):
        for case in re.split(r"\n(?=\d+\. Test Case ID:)", body):
            for code in set(re.findall(r"^- (ST\d+) ", case, re.M)):
                found.setdefault((operation, code), []).append(case)
    return found


# What schemathesis's report names as the operation of a stateful phase's finding: its log prints
# each failing case with the requests that reproduce it instead.
STATEFUL = "Stateful tests"


def case_request(case: str) -> Tuple[str, str] | None:
    """The method and path of the last request a failing case's reproduction sends."""
    requests = re.findall(r"curl -X (\w+) .*?https?://[^/\s]+(/[^\s?']*)", case)
    return requests[-1] if requests else None


def on_operation(operation: str, method: str, path: str) -> bool:
    """Whether the request `method path` is one of `operation` (`METHOD /path/{parameter}`)."""
    wanted_method, template = operation.split(" ", 1)
    wanted, got = template.strip("/").split("/"), path.strip("/").split("/")
    return (
        wanted_method == method
        and len(wanted) == len(got)
        and all(w == g or (w.startswith("{") and w.endswith("}") and g != "") for w, g in zip(wanted, got))
    )


def rule_allows(rule: Dict[str, Any], code: str, operation: str, case: str) -> bool:
    """Whether `rule` accepts the failing `case` of check `code` on `operation` (for the stateful
    phase, the operation the case's last request reached)."""
    if rule["code"] != code or rule.get("contains", "") not in case:
        return False
    scope = rule.get("operation")
    if scope in (None, operation):
        return True
    request = case_request(case) if operation == STATEFUL else None
    return request is not None and on_operation(scope, *request)


def allowed(failure: Dict[str, Any], operation: str, rules: List[Dict[str, Any]], log: str) -> bool:
    """Whether the allow-list accepts this finding on this operation: every failing case
    schemathesis printed for it must be accepted by a rule (one with `contains` must find its text
    in the case)."""
    cases = cases_by_finding(log).get((operation, failure["code"])) or [json.dumps(failure)]
    return all(any(rule_allows(rule, failure["code"], operation, case) for rule in rules) for case in cases)


def fuzz(server: Server, key: str, directory: pathlib.Path, phases: str, workers: int) -> Tuple[Dict[str, Any], str]:
    """Runs schemathesis's `phases` with `workers` workers; answers its JSON report and output."""
    directory.mkdir()
    command = [
        str(pathlib.Path(sys.executable).parent / "st"),
        "--config-file",
        str(config(directory, key)),
        "run",
        f"{server.base}/openapi.json",
        "--phases",
        phases,
        "--checks",
        "all",
        "--max-examples",
        os.environ.get("TITAN_FUZZ_EXAMPLES", "70"),
        "--workers",
        str(workers),
        "--seed",
        os.environ.get("TITAN_FUZZ_SEED", "20261202"),
        "--report",
        "json",
        "--report-dir",
        str(directory),
        "--output-sanitize",
        "false",
        # Deleting a stopped, paired session connects to log it out (up to 15 s, as documented).
        "--max-response-time",
        "30",
    ]
    environment = dict(os.environ, SCHEMATHESIS_HOOKS="fuzz_hooks", PYTHONPATH=str(HERE))
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, env=environment, cwd=directory)
    (directory / "st.log").write_text(run.stdout + run.stderr)
    reports = sorted(directory.glob("json-*.json"))
    assert reports, f"schemathesis wrote no report:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    return json.loads(reports[-1].read_text()), run.stdout


def test_the_fuzzer_finds_nothing(target: Tuple[Server, str], tmp_path: pathlib.Path) -> None:
    server, key = target
    # The allow-list's ST203 entry for the stream rests on this: without a key, it is a 401.
    assert httpx.get(f"{server.base}/api/events", timeout=10).status_code == 401
    rules = tomllib.loads(ALLOWLIST.read_text())["allow"]
    for rule in rules:
        assert rule.get("reason"), f"allow-list entry without a reason: {rule}"
    started = time.monotonic()
    # Requests one at a time are independent, so two workers share them. The stateful phase runs
    # scenarios (create, then read, change and delete what was made): one worker, so that no
    # scenario deletes what another one has just created.
    stateless, stateless_log = fuzz(server, key, tmp_path / "stateless", "examples,coverage,fuzzing", 2)
    stateful, stateful_log = fuzz(server, key, tmp_path / "stateful", "stateful", 1)
    elapsed = time.monotonic() - started
    assert stateless["operations"]["tested"] == stateless["operations"]["total"], "every operation is fuzzed"
    generated = stateless["test_cases"]["generated"] + stateful["test_cases"]["generated"]
    findings = [
        (failure, operation, log)
        for report, log in ((stateless, stateless_log), (stateful, stateful_log))
        for failure in report["failures"]
        for operation in failure["operations"]
    ]
    unexpected = [(f, o) for f, o, log in findings if not allowed(f, o, rules, log)]
    print(
        f"\nfuzz: {generated} generated requests ({stateless['test_cases']['generated']} single, "
        f"{stateful['test_cases']['generated']} in scenarios) on {stateless['operations']['tested']} operations "
        f"in {elapsed:.0f} s; {len(findings)} findings, {len(findings) - len(unexpected)} allowed; "
        f"logs: {tmp_path}/*/st.log"
    )
    errors = stateless["errors"] + stateful["errors"]
    assert not errors, f"schemathesis errors: {json.dumps(errors)[:3000]}"
    details = "\n".join(f"- {f['code']} {f['title']} on {o}: {json.dumps(f)[:1500]}" for f, o in unexpected)
    assert not unexpected, f"the fuzzer found:\n{details}\n\n{stateless_log[-6000:]}\n{stateful_log[-6000:]}"
    assert generated >= int(os.environ.get("TITAN_FUZZ_MIN_REQUESTS", "5000")), f"only {generated} requests"
