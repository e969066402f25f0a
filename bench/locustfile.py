"""The people of a busy shop, for Locust: API intake, managers, packers, couriers and owners.

Run by bench/load.py (one headless Locust run per step); not meant to be started by hand. What each kind of user
may touch comes from the JSON file named by LOAD_FIXTURES (session cookies, API token, SKUs, order ids), built by
bench/load.py. LOAD_API_USERS sets how many API clients run; each sends one order (create + reserve) per second.
Statistics restart after LOAD_WARMUP seconds: people do not all open their first page in the same instant, and
the figures are of the traffic once it has settled, not of the first burst.
"""

import json
import os
import random
import time
import uuid

import gevent
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

FIXTURES = json.loads(open(os.environ["LOAD_FIXTURES"]).read())  # noqa: SIM115
API_USERS = int(os.environ.get("LOAD_API_USERS", "10"))
COUNTS = json.loads(os.environ.get("LOAD_COUNTS", "{}"))
WARMUP = float(os.environ.get("LOAD_WARMUP", "0"))


class ApiClient(FastHttpUser):
    """A shop's site or a marketplace connector: one order a second on average, 1-5 lines, with an idempotency key.

    Orders arrive at random (a Poisson process: exponential gaps between one order's arrival and the next), as
    buyers do. A fixed one-second beat per client, even from random starting points, repeats the same collisions
    every second, so the few clients that happen to start together would set every step's p95.
    """

    fixed_count = API_USERS

    def on_start(self):
        gevent.sleep(random.expovariate(1.0))  # the first order too
        self.next_arrival = time.monotonic()

    def wait_time(self):
        self.next_arrival += random.expovariate(1.0)
        return max(0.0, self.next_arrival - time.monotonic())  # behind schedule: the next order goes at once

    @task
    def order(self):
        skus = random.sample(FIXTURES["skus"], random.randint(1, 5))
        body = {
            "channel": random.choice(["web", "web", "marketplace"]),
            "customer": {"name": "Load Customer", "phone": f"+1 555 {random.randrange(10**7):07d}"},
            "payment": {"method": "card", "status": "paid"},
            "delivery": {"method": "courier", "address": "1 Load Street"},
            "lines": [{"sku": sku, "quantity": random.randint(1, 2)} for sku in skus],
        }
        headers = {"Authorization": f"Bearer {FIXTURES['token']}", "Idempotency-Key": uuid.uuid4().hex}
        with self.client.post(
            "/api/v1/orders", json=body, headers=headers, name="API create", catch_response=True
        ) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code} {r.text[:120]}")
                return
            order_id = r.json()["id"]
        with self.client.post(
            f"/api/v1/orders/{order_id}/reserve",
            headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
            name="API reserve",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:120]}")


class Browser(FastHttpUser):
    """A logged-in person: the session cookie was made by bench/load.py; the CSRF token comes from the first page."""

    abstract = True
    kind = ""

    def on_start(self):
        person = FIXTURES["people"][self.kind].pop()
        self.client.cookiejar.set_cookie(_cookie(FIXTURES["session_cookie"], person["session"]))
        self.csrf = ""
        self.person = person
        gevent.sleep(random.uniform(0, 2 * WARMUP / 3))  # each person is somewhere in their day already

    def page(self, path, name):
        with self.client.get(path, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")
            for cookie in self.client.cookiejar:
                if cookie.name == FIXTURES["csrf_cookie"]:
                    self.csrf = cookie.value
        return r

    def post(self, path, data, name):
        headers = {"X-CSRFToken": self.csrf, "HX-Request": "true", "Referer": self.host + "/"}
        with self.client.post(path, data=data, headers=headers, name=name, catch_response=True) as r:
            if r.status_code not in (200, 204):
                r.failure(f"{r.status_code}")
        return r


class Manager(Browser):
    fixed_count = COUNTS.get("managers", 20)
    kind = "managers"
    wait_time = between(1, 3)

    @task(4)
    def order_list(self):
        self.page("/orders/", "list")

    @task(2)
    def filtered_list(self):
        self.page(f"/orders/?status={random.choice(FIXTURES['status_codes'])}", "list by status")

    @task(2)
    def phone_search(self):
        self.page(f"/orders/?q={random.choice(FIXTURES['phone_digits'])}", "phone search")

    @task(3)
    def order_page(self):
        self.page(f"/orders/{random.choice(FIXTURES['order_ids'])}/", "order page")

    @task(1)
    def status_change(self):
        if not self.person["to_confirm"]:
            return
        order_id = self.person["to_confirm"].pop()
        self.page(f"/orders/{order_id}/", "order page")
        self.post(f"/orders/{order_id}/status/", {"to": FIXTURES["confirm_code"]}, "status change")


class Packer(Browser):
    """Opens the next order of its own pile and scans every unit, about one scan a second."""

    fixed_count = COUNTS.get("packers", 5)
    kind = "packers"
    wait_time = between(0.5, 1.5)

    def on_start(self):
        super().on_start()
        self.codes = []
        self.order_id = None

    @task
    def scan(self):
        if not self.codes:
            if not self.person["orders"]:
                return
            self.order_id, self.codes = self.person["orders"].pop()
            self.page(f"/shipments/packing/{self.order_id}/", "packing station")
            return
        self.post(f"/shipments/packing/{self.order_id}/scan/", {"code": self.codes.pop()}, "packing scan")


class Courier(Browser):
    fixed_count = COUNTS.get("couriers", 2)
    kind = "couriers"
    wait_time = between(3, 6)

    @task
    def route(self):
        self.page("/shipments/route/", "courier route")


class Owner(Browser):
    fixed_count = COUNTS.get("owners", 2)
    kind = "owners"
    wait_time = between(5, 10)

    @task
    def reports(self):
        self.page(random.choice(["/analytics/", "/analytics/cohorts/", "/analytics/lifetime-value/"]), "report")


def _cookie(name, value):
    from http.cookiejar import Cookie

    return Cookie(0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None, False, None, None, {})


@events.test_start.add_listener
def _measure_after_warmup(environment, **_):
    if WARMUP:
        gevent.spawn_later(WARMUP, environment.runner.stats.reset_all)


@events.quitting.add_listener
def _never_fail_the_run(environment, **_):
    environment.process_exit_code = 0  # errors are figures in the table, not a failed command
