"""Requests/s for sequential authenticated GETs: titan.Client against plain httpx, same server.

    .venv/bin/python bindings/python/bench/gets.py [--requests 2000] [--rounds 3]

Starts a titan server (the binary of tests/python/titan_server.py: ./target/debug/titan, or
TITAN_BIN, e.g. a release build) on a temporary SQLite database, creates one session, then
times GET /api/sessions/{name} through each client, decoding the JSON answer in both. Rounds
alternate between the clients; the best round of each is reported, with the ratio.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import time
from typing import Callable

import httpx

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3] / "tests" / "python"))

import titan  # noqa: E402
from titan_server import MASTER, Server  # noqa: E402


def rate(requests: int, call: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        call()
    return requests / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        server = Server(pathlib.Path(data), env={"TITAN_RATE_LIMIT": "100000000"})
        try:
            key = titan.Client(base_url=server.base, api_key=MASTER).admin.keys.create(label="bench", scopes=["*"]).key
            sdk = titan.Client(base_url=server.base, api_key=key)
            sdk.sessions.create(name="bench")
            plain = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"})

            def with_httpx() -> object:
                response = plain.get("/api/sessions/bench")
                response.raise_for_status()
                return response.json()["data"]

            def with_titan() -> object:
                return sdk.sessions.get("bench")

            assert with_titan() and with_httpx()
            best = {"titan.Client": 0.0, "httpx.Client": 0.0}
            for round_number in range(1, args.rounds + 1):
                for name, call in (("titan.Client", with_titan), ("httpx.Client", with_httpx)):
                    measured = rate(args.requests, call)
                    best[name] = max(best[name], measured)
                    print(f"round {round_number}: {name:<13} {measured:8.0f} req/s", flush=True)
            ratio = best["titan.Client"] / best["httpx.Client"]
            print(f"best of {args.rounds} x {args.requests} sequential GETs: titan.Client {best['titan.Client']:.0f} req/s, "
                  f"httpx {best['httpx.Client']:.0f} req/s, ratio {ratio:.2f}x")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
