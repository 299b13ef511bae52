"""How long one lifecycle step takes in this process, against the benchmark database:
``python -m benchmarks.step_timing --user NAME [--times N]``. Takes 1 + N orders dispatched to
the user's unit and walks each through sign → contact → complete with the user's API token,
as scenario 4's clients do (the first order warms up); prints the mean milliseconds of a step.
Urgent orders are left out (a step of one also queues an SMS task), so that every step does the
same work. Each order's walk is rolled back at its end (its steps' transactions are savepoints
inside the walk's), so every run walks the same orders and two commits compare on the same
work. ``benchmarks.instructions --steps`` runs
it under callgrind."""

import argparse
import sys
import time

from . import request_timing
from .steps import STEPS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--user", required=True, help="username of a unit's staff member")
    parser.add_argument("--times", type=int, default=30,
                        help="orders walked after the first (default 30)")
    args = parser.parse_args(argv)
    if args.times < 0:
        parser.error("--times must not be negative")
    request_timing.start()
    from django.db import transaction

    from dispatch.access import unit_id_of
    from dispatch.models import Urgency
    from tickets.models import Order, State

    found = request_timing.client_for(args.user, token=True)
    if found is None:
        return 2
    user, client = found
    unit_id = unit_id_of(user)
    if unit_id is None:
        print(f"{args.user!r} is no unit's staff", file=sys.stderr)
        return 2
    orders = list(Order.objects.filter(lead_unit_id=unit_id, state=State.DISPATCHED)
                  .exclude(urgency=Urgency.URGENT).order_by("id")
                  .values_list("pk", flat=True)[:1 + args.times])
    if len(orders) < 1 + args.times:
        print(f"the unit has {len(orders)} dispatched orders; {1 + args.times} are needed",
              file=sys.stderr)
        return 2

    def walk(order_id: int) -> None:
        with transaction.atomic():
            steps(order_id)
            transaction.set_rollback(True)

    def steps(order_id: int) -> None:
        for action, body in STEPS:
            response = client.post(f"/api/orders/{order_id}/{action}/", body,
                                   content_type="application/json",
                                   HTTP_X_FORWARDED_PROTO="https")
            if response.status_code != 200:
                raise SystemExit(f"{action} of order {order_id} answered "
                                 f"{response.status_code}: {response.content[:300]!r}")

    walk(orders[0])
    started = time.perf_counter()
    for order_id in orders[1:]:
        walk(order_id)
    if args.times:
        per_step = (time.perf_counter() - started) / (args.times * len(STEPS)) * 1000
        print(f"sign → contact → complete as {args.user}: {per_step:.1f} ms a step "
              f"(mean of {args.times * len(STEPS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
