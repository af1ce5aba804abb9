"""A stand-in component for supervisor tests: serves GET /healthz, and misbehaves on request.

Accepts the argv of `python -m mcp_servers` (domain, --host, --port, --data-dir, --nats-url)
plus flags to die at start, be slow, die later, ignore SIGTERM or leave a grandchild behind.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STUBBORN_GRANDCHILD = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('grandchild up', flush=True); "
    "time.sleep(60)"
)


class HealthHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path.split("?")[0] == "/healthz" else 404
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"no")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("domain", nargs="?", default="fake")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--nats-url")
    parser.add_argument("--issuer")
    parser.add_argument("--gateway-url")
    parser.add_argument("--public-url")
    parser.add_argument("--noise", type=int, default=0, help="print this many numbered lines first")
    parser.add_argument("--die-at-start", type=int, metavar="CODE")
    parser.add_argument("--slow", type=float, default=0.0, help="seconds before listening")
    parser.add_argument("--die-after", type=float, help="exit 3 this many seconds after listening")
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--stubborn-grandchild", action="store_true")
    parser.add_argument("--require-url", help="exit 4 unless this URL answers 200 at start")
    return parser.parse_args()


def main() -> None:
    args = parse()
    for number in range(args.noise):
        print(f"noise line {number}")
    print(f"fake {args.domain} starting on port {args.port}", flush=True)
    if args.ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.stubborn_grandchild:
        grandchild = subprocess.Popen([sys.executable, "-c", STUBBORN_GRANDCHILD])
        print(f"grandchild pid {grandchild.pid}", flush=True)
    if args.require_url:
        try:
            with urllib.request.urlopen(args.require_url, timeout=1) as response:  # noqa: S310
                assert response.status == 200
        except Exception as error:
            print(f"fatal: {args.require_url} is not up: {error}", flush=True)
            sys.exit(4)
    if args.die_at_start is not None:
        print(f"fatal: told to die with code {args.die_at_start}", flush=True)
        sys.exit(args.die_at_start)
    time.sleep(args.slow)
    server = ThreadingHTTPServer((args.host, args.port), HealthHandler)
    if args.die_after is not None:

        def die() -> None:
            print("dying as told", flush=True)
            server.shutdown()

        threading.Timer(args.die_after, die).start()
    print("listening", flush=True)
    server.serve_forever()
    if args.die_after is not None:
        sys.exit(3)


if __name__ == "__main__":
    main()
