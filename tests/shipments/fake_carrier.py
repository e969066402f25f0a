"""A tiny HTTP/JSON carrier on 127.0.0.1 (a free port) that the tests drive: events per tracking number, failures
on demand. Never any external address."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeCarrier:
    def __init__(self):
        self.events: dict[str, list[dict]] = {}
        self.fail_with: int | None = None  # HTTP status to answer every request with
        self.requests: list[tuple[str, str, str]] = []
        self.created = 0
        self.token = "secret-token"
        self.raw_events: bytes | None = None  # an answer to event requests sent as it is (nonsense on demand)
        self.booking_seconds = 0.0  # how long a booking (POST) takes to answer
        carrier = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _guard(self):
                carrier.requests.append((self.command, self.path, self.headers.get("Authorization", "")))
                if carrier.fail_with:
                    self._answer(carrier.fail_with, {"error": "down"})
                    return False
                if self.headers.get("Authorization") != f"Bearer {carrier.token}":
                    self._answer(401, {"error": "token"})
                    return False
                return True

            def do_POST(self):
                if not self._guard():
                    return
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                time.sleep(carrier.booking_seconds)
                carrier.created += 1
                number = f"FC{carrier.created:05d}-{body.get('reference', '')}"
                carrier.events.setdefault(number, [])
                self._answer(201, {"tracking_number": number})

            def do_GET(self):
                if not self._guard():
                    return
                if carrier.raw_events is not None:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(carrier.raw_events)))
                    self.end_headers()
                    self.wfile.write(carrier.raw_events)
                    return
                parts = self.path.strip("/").split("/")
                if len(parts) == 3 and parts[0] == "shipments" and parts[2] == "events" and parts[1] in carrier.events:
                    self._answer(200, {"events": carrier.events[parts[1]]})
                else:
                    self._answer(404, {"error": "unknown"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add_event(self, number, event_id, status, at, reason=""):
        self.events.setdefault(number, []).append({"id": event_id, "status": status, "at": at, "reason": reason})

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
