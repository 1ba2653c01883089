#!/usr/bin/env python3
"""Prints every page klaxon's webhook channel delivers, so the example config can be
tried on one machine: python3 demo/page-receiver.py [PORT] (default 9000)."""
import json
import sys
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        try:
            page = json.loads(body)
            incident = page.get("incident", {})
            line = "{} page for {} (level {}, {}): #{} {} [{}]  ack: {}".format(
                datetime.now().strftime("%H:%M:%S"),
                page.get("user"),
                page.get("level"),
                page.get("urgency"),
                incident.get("id"),
                incident.get("title"),
                incident.get("severity"),
                page.get("ack_command"),
            )
        except ValueError:
            line = "{} {} {} bytes (not JSON)".format(
                datetime.now().strftime("%H:%M:%S"), self.path, len(body)
            )
        print(line, flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *arguments):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    print(f"listening on 127.0.0.1:{port}", flush=True)
    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
