"""The load generator: locust users that act as agents taking requests, street staff reading
their work lists and walking orders through sign → contact → complete.

Run by ``benchmarks.loadgen`` in its own process; what to do comes from the JSON file named by
``BENCH_PLAN`` and every request is written, with its latency, to ``BENCH_OUT`` at exit (locust's
own statistics round latencies; the report computes its percentiles from these raw samples).
"""

import itertools
import json
import os
import random
import time

from locust import FastHttpUser, between, constant, constant_throughput, events, task

with open(os.environ["BENCH_PLAN"], encoding="utf-8") as _plan:
    PLAN = json.load(_plan)
SAMPLES: list = []
_assign = itertools.count()
FORWARDED = {"X-Forwarded-Proto": "https"}  # as a TLS-terminating proxy would send


def _paced(rate: float):
    """``rate`` tasks a second per user, each user at a phase of its own: independent agents
    do not type in step. (locust's ``constant_throughput`` counts from each user's start, and
    locust starts the users of a second together: their requests would come all at once.)"""
    period = 1 / rate

    def wait(user) -> float:
        now = time.perf_counter()
        if not hasattr(user, "_paced_next"):
            user._paced_next = now + random.uniform(0, period)
        else:
            user._paced_next = max(user._paced_next + period, now)
        return user._paced_next - now
    return wait


def _wait():
    kind, value = PLAN.get("wait", ["constant", 0])
    if kind == "paced":
        return _paced(value)
    if kind == "constant_throughput":
        return constant_throughput(value)
    if kind == "between":
        return between(*value)
    return constant(value)


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None, context=None,
            exception=None, start_time=None, **kwargs):
    status = getattr(response, "status_code", 0) if response is not None else 0
    SAMPLES.append([name, round(response_time, 3), status, start_time or time.time(),
                    (context or {}).get("order")])


@events.quitting.add_listener
def _dump(environment, **kwargs):
    with open(os.environ["BENCH_OUT"], "w", encoding="utf-8") as fh:
        json.dump(SAMPLES, fh)


class Intake(FastHttpUser):
    """An agent taking requests: POST /api/orders/ with a real text, an address and the category
    the agent confirmed. Urgent and utility requests are mixed in as at the hotline."""

    wait_time = _wait()

    def on_start(self):
        agents = PLAN["tokens"]
        self.headers = {"Authorization": f"Token {agents[next(_assign) % len(agents)]}",
                        **FORWARDED}
        self.rng = random.Random(next(_assign))

    @task
    def create(self):
        rng = self.rng
        subject, text = rng.choice(PLAN["texts"])
        body = {
            "channel": "phone", "subject": subject, "text": text,
            "caller_name": "张女士", "caller_phone": f"139{rng.randrange(10**8):08d}",
            "address": rng.choice(PLAN["addresses"]), "category": rng.choice(PLAN["categories"]),
            "urgency": rng.choices(["ordinary", "utilities", "urgent", "complex"],
                                   [80, 12, 2, 6])[0],
            "request_type": "complaint",
        }
        with self.client.post("/api/orders/", json=body, headers=self.headers, name="create",
                              catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")


class Reader(FastHttpUser):
    """A user reading a list: each request is one of PLAN["requests"] (its path and its
    credentials: an API token or a session cookie)."""

    wait_time = _wait()

    def on_start(self):
        self.rng = random.Random(next(_assign))

    @task
    def read(self):
        item = self.rng.choice(PLAN["requests"])
        headers = dict(FORWARDED)
        if item.get("token"):
            headers["Authorization"] = f"Token {item['token']}"
        if item.get("session"):
            headers["Cookie"] = f"sessionid={item['session']}"
        with self.client.get(item["path"], headers=headers, name=item["name"],
                             allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")


class Handler(FastHttpUser):
    """Street staff handling their orders: sign, record the contact, complete; each order with
    the token of its street's staff. Paired users have some orders at the same place on both
    lists, so they race for them; the loser must get 409 and the winner's step must be the one
    recorded."""

    wait_time = _wait()

    def on_start(self):
        worker = PLAN["workers"][next(_assign) % len(PLAN["workers"])]
        self.orders = iter(worker["orders"])
        self.current, self.headers, self.steps = None, None, []

    @task
    def step(self):
        if not self.steps:
            item = next(self.orders, None)
            if item is None:
                self.stop(True)
                return
            self.current = item[0]
            self.headers = {"Authorization": f"Token {item[1]}", **FORWARDED}
            self.steps = list(PLAN["steps"])  # benchmarks/steps.py, through the plan
        action, body = self.steps.pop(0)
        with self.client.post(f"/api/orders/{self.current}/{action}/", json=body,
                              headers=self.headers, name=action, catch_response=True,
                              context={"order": self.current}) as response:
            if response.status_code == 409:
                response.success()  # the other user was first: expected, counted apart
            elif response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
