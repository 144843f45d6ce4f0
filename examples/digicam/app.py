#!/usr/bin/env python3
"""digicam: the sample HTTP API that recon's examples and tests deploy.

Standard library only. The version comes from the VERSION file beside this script,
so identical code in different release folders reports different versions. If a
BROKEN file sits beside it, the app still listens but / and /health answer 500:
a release that starts fine yet fails its health gate.

Env: PORT (default 9000, bound on 127.0.0.1 only), SQUAD (echoed by /health).

Its one dependency, digicam_motd, is installed into a virtualenv inside the release by the
release's `prepare` commands (run.sh starts venv/bin/python); /health reports the message of
the day it reads from the release's `.env` (a link into the shared folder).
"""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import digicam_motd

HERE = os.path.dirname(os.path.abspath(__file__))


def read_version():
    try:
        with open(os.path.join(HERE, "VERSION"), encoding="utf-8") as fh:
            return fh.read().strip() or "unknown"
    except OSError:
        return "unknown"


VERSION = read_version()
BROKEN = os.path.exists(os.path.join(HERE, "BROKEN"))
SQUAD = os.environ.get("SQUAD", "")


class Handler(BaseHTTPRequestHandler):
    server_version = "digicam/" + VERSION
    sys_version = ""

    def _send(self, code, payload):
        body = (json.dumps(payload) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server naming)
        path = self.path.split("?", 1)[0]
        if path == "/health":
            if BROKEN:
                self._send(500, {"status": "broken"})
            else:
                self._send(200, {"status": "ok", "version": VERSION, "squad": SQUAD,
                                 "motd": digicam_motd.motd(os.path.join(HERE, ".env"))})
        elif path == "/":
            if BROKEN:
                self._send(500, {"status": "broken"})
            else:
                self._send(200, {"service": "digicam", "version": VERSION})
        elif path.startswith("/route/") and len(path) > len("/route/") and "/" not in path[7:]:
            self._send(200, {"id": path[len("/route/"):], "version": VERSION})
        else:
            self._send(404, {"error": "not found"})

    def log_message(self, fmt, *args):
        # One short line per request on stderr.
        sys.stderr.write("digicam %s %s\n" % (self.address_string(), fmt % args))


def main():
    port = int(os.environ.get("PORT", "9000"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True

    def on_term(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)
    sys.stderr.write("digicam %s listening on 127.0.0.1:%d%s\n"
                     % (VERSION, port, " (BROKEN)" if BROKEN else ""))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
