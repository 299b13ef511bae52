"""How much CPU one intake costs this process: ``python -m benchmarks.create_timing [--times N]``.
An agent of the bench database creates orders through POST /api/orders/ with Django's test
client, with the bodies of scenario 2's in-process profile (``intake.creator``), 50 times to warm
up and then three rounds of ``--times``; each round prints the milliseconds of this process's
CPU a create (the request's Python, the driver and the socket calls: not PostgreSQL's or
Redis's) and of the wall clock. Then the parts that ran on their own (``--parts``): the intake
body's validation and the deadlines of one order. Run it from a worktree of each commit, on the
same database, to compare them (docs/benchmarks.md, "Intake's CPU"). Each run adds its orders to
the bench database, as scenario 2 does."""

import argparse
import sys

from .stats import per_call_ms


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--times", type=int, default=600, help="creates a round (default 600)")
    parser.add_argument("--parts", action="store_true",
                        help="also time the body's validation and the deadlines alone")
    args = parser.parse_args(argv)
    if args.times < 1:
        parser.error("--times must be at least 1")
    from . import request_timing

    request_timing.start()
    from django.utils import timezone

    from . import intake, people

    plan = intake._plan(people.make_people(agents=1))
    create = intake.creator(plan["tokens"][0], plan, phone="13900000002")
    try:
        for _ in range(50):
            create()
    except RuntimeError as exc:
        parser.exit(1, f"{exc}\n")
    for _ in range(3):
        wall, cpu = per_call_ms(create, args.times)
        print(f"a create: {cpu:.3f} ms of this process's CPU, {wall:.3f} ms of wall clock "
              f"(mean of {args.times})")
    if args.parts:
        from dispatch import deadlines
        from tickets.api import OrderCreateSerializer

        def validate() -> None:
            OrderCreateSerializer(data=first).is_valid(raise_exception=True)

        now, first = timezone.now(), intake.body(plan, 0, phone="13900000002")
        parts = {
            "the intake body's validation": validate,
            "its fields alone": lambda: OrderCreateSerializer(data=first).fields,
            "an ordinary order's deadlines": lambda: deadlines.compute(urgency="ordinary",
                                                                       start=now),
        }
        for name, call in parts.items():
            per_call_ms(call, 200)  # warm-up
            print(f"{name}: {per_call_ms(call, 5000)[1] * 1000:.1f} µs of CPU (mean of 5,000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
