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

from . import env, request_timing

STEPS = (("sign", {}), ("contact", {"summary": "已电话联系市民", "way": "phone"}),
         ("complete", {"result": "已处理完毕", "solved": True}))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--user", required=True, help="username of a unit's staff member")
    parser.add_argument("--times", type=int, default=30,
                        help="orders walked after the first (default 30)")
    args = parser.parse_args(argv)
    if args.times < 0:
        parser.error("--times must not be negative")
    env.apply_to_this_process()
    import django

    django.setup()
    request_timing.hold_reloads()
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from dispatch.access import unit_id_of
    from dispatch.models import Urgency
    from tickets.models import Order, State

    user = get_user_model().objects.filter(username=args.user).first()
    unit_id = unit_id_of(user) if user is not None else None
    if unit_id is None:
        print(f"no unit staff {args.user!r} in {env.DB_NAME}", file=sys.stderr)
        return 2
    orders = list(Order.objects.filter(lead_unit_id=unit_id, state=State.DISPATCHED)
                  .exclude(urgency=Urgency.URGENT).order_by("id").values_list("pk", flat=True)[:1 + args.times])
    if len(orders) < 1 + args.times:
        print(f"the unit has {len(orders)} dispatched orders; {1 + args.times} are needed",
              file=sys.stderr)
        return 2
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0]}")

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
