"""How much CPU the API's JSON of one page of orders costs in Python: ``python -m
benchmarks.serializer_timing --user NAME [--unit ID] [--state STATE] [--times N]``. The page is
the scenario-3 API list's (the unit's orders in the state, soonest deadline first, 50 rows, read
once as ``tickets/api.py`` reads them), and ``OrderSerializer(rows, many=True).data`` is timed
in rounds of ``--times`` on this process's CPU clock: the best of three rounds and all three are
printed. No database and no HTTP in the figure: a change to tickets/serializers.py compares on
its own (run it from a worktree of each commit, on the same database)."""

import argparse
import sys

from . import request_timing
from .stats import per_call_ms


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--user", required=True, help="username of a user in the bench database")
    parser.add_argument("--unit", type=int, help="the unit's id (default: the user's unit)")
    parser.add_argument("--state", default="in_progress", help="default in_progress")
    parser.add_argument("--times", type=int, default=500, help="pages a round (default 500)")
    args = parser.parse_args(argv)
    if args.times < 1:
        parser.error("--times must be at least 1")
    request_timing.start()
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from django.utils import translation

    from dispatch.access import unit_id_of
    from tickets import api, selectors
    from tickets.serializers import OrderSerializer

    user = get_user_model().objects.filter(username=args.user).first()
    if user is None:
        print(f"no user {args.user!r} in the bench database", file=sys.stderr)
        return 2
    unit = args.unit if args.unit is not None else unit_id_of(user)
    translation.activate("zh-hans")
    rows = selectors.order_page(
        user, api.list_start(), states=[args.state], unit_id=unit,
        ordering=("complete_due_at", "id"), size=50, fields=api.LIST_FIELDS, assisting=True)
    if not rows:
        print(f"unit {unit} has no order in {args.state!r}", file=sys.stderr)
        return 1
    request = RequestFactory().get("/api/orders/")
    request.user = user
    context = {"request": request, "assisting": {row.id: row.assisting_ids for row in rows}}

    def write() -> None:
        OrderSerializer(rows, many=True, context=context).data

    for _ in range(50):
        write()
    rounds = [per_call_ms(write, args.times)[1] for _ in range(3)]
    print(f"{len(rows)} rows of unit {unit} ({args.state}) as {args.user}: {min(rounds):.3f} ms "
          f"of CPU a page (best of rounds {', '.join(f'{r:.3f}' for r in rounds)}; "
          f"{args.times} pages each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
