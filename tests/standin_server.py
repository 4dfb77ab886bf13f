"""The stand-in process of the swarm engine tests: it answers HTTP on every port a catalog service listens on.

No registry is reachable here, so the swarm tier replays the program's services on a Debian image that runs
this instead of the real server. Every GET answers `200 <task hostname> <path>`, so the services' own
healthchecks (wget, curl, bash /dev/tcp, python) pass, and tasks on other nodes can tell who answered. It
answers 500 while /tmp/unhealthy exists or when STANDIN_FAIL=1 is set: that is how a test makes a task fail its
healthcheck. Standard library only (it runs with the image's python3).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UNHEALTHY_MARK = "/tmp/unhealthy"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        failing = os.environ.get("STANDIN_FAIL") == "1" or os.path.exists(UNHEALTHY_MARK)
        body = f"{'failing' if failing else 'ok'} {socket.gethostname()} {self.path}\n".encode()
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def serve(ports: list[int]) -> None:
    servers = [ThreadingHTTPServer(("0.0.0.0", port), Handler) for port in ports]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    serve([int(port) for port in sys.argv[1:]])
