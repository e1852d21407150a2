#!/usr/bin/env python3
"""webhook_receiver.py - a lab webhook endpoint for tests/e2e/webhook.sh.

Runs inside a lab namespace on a 198.18.x.y address. Every request is
logged as one JSON line (monotonic time, path, headers, body) to LOG, and
the path says how to answer:

  /ok            200
  /fail429/N     429 (Retry-After: 1) for the first N requests, then 200
  /fail500/N     500 for the first N requests, then 200
  /stall         200 with a Content-Length it never finishes sending
  /redirect-file 302 to file:///etc/passwd
  /redirect-ok   302 to /ok on the same server
  /forbidden     403

usage: webhook_receiver.py ADDR PORT LOG
"""
import http.server
import json
import sys
import threading
import time

ADDR, PORT, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3]
counts = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n > 0 else b""
        with lock:
            counts[self.path] = counts.get(self.path, 0) + 1
            seen = counts[self.path]
            with open(LOG, "a") as f:
                f.write(json.dumps({
                    "t": time.monotonic(),
                    "path": self.path,
                    "n": seen,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                }) + "\n")
        parts = self.path.strip("/").split("/")
        if parts[0] in ("fail429", "fail500") and seen <= int(parts[1]):
            if parts[0] == "fail429":
                self.reply(429, {"Retry-After": "1"})
            else:
                self.reply(500)
        elif parts[0] == "stall":
            self.reply(200, {"Content-Length": "100"}, b"x")
            time.sleep(30)
        elif parts[0] == "redirect-file":
            self.reply(302, {"Location": "file:///etc/passwd"})
        elif parts[0] == "redirect-ok":
            self.reply(302, {"Location": "/ok"})
        elif parts[0] == "forbidden":
            self.reply(403)
        else:
            self.reply(200, {}, b"ok")

    def reply(self, code, headers=None, body=b""):
        self.send_response(code)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if body:
            self.wfile.write(body)
            self.wfile.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


Server((ADDR, PORT), Handler).serve_forever()
