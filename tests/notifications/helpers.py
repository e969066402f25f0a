"""Shared helpers: run the outbox by hand (the test transaction never commits), a local webhook receiver."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from notifications.models import MessageLog, MessageState
from notifications.services import messaging
from oms import events
from oms.models import Event

from ..orders.helpers import SYSTEM, move, place_order, stocked_product  # noqa: F401 - re-exported


def drain(rounds: int = 30) -> int:
    """Dispatch every pending event, and the events those cause, and send the messages they queue, as the workers
    would. Returns how many events ran."""
    ran = 0
    for _ in range(rounds):
        ids = list(Event.objects.filter(dispatched_at__isnull=True).order_by("pk").values_list("pk", flat=True))
        if not ids:
            send_queued_messages()
            return ran
        for pk in ids:
            events.dispatch(pk)
            ran += 1
    return ran


def send_queued_messages() -> int:
    """Send every queued message as the task does after commit."""
    ids = list(MessageLog.objects.filter(state=MessageState.QUEUED).order_by("pk").values_list("pk", flat=True))
    return sum(messaging.send_queued(pk) is not None for pk in ids)


def send_now(**kwargs) -> MessageLog:
    """Queue a message to a customer and send it as the task would after commit; the log as it ends."""
    log = messaging.queue_customer_message(**kwargs)
    messaging.send_queued(log.pk)
    log.refresh_from_db()
    return log


class Receiver:
    """A local HTTP server answering with the given status codes in turn (the last one repeats)."""

    def __init__(self, codes=(200,)):
        self.codes = list(codes)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                index = min(len(receiver.requests) - 1, len(receiver.codes) - 1)
                self.send_response(receiver.codes[index])
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]
