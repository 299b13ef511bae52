from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from tickets import demo
from tickets.models import Order


class Command(BaseCommand):
    help = "Create demo users for every role and a few thousand demo orders in every state."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=2000, help="how many orders (default 2000)")
        parser.add_argument("--days", type=int, default=60, help="spread over this many past days")
        parser.add_argument("--seed", type=int, default=12345)
        parser.add_argument("--if-empty", action="store_true",
                            help="only create orders when there are none yet")

    def handle(self, *args, orders, days, seed, if_empty, **options):
        if orders < 0 or days < 1:
            raise CommandError("--orders must be ≥ 0 and --days ≥ 1")
        users = demo.ensure_users()
        self.stdout.write(f"demo users ({len(users)}), password '{demo.DEMO_PASSWORD}':")
        for username, role, unit in users:
            self.stdout.write(f"  {username:<11} {role:<17} {unit}")
        if if_empty and Order.objects.exists():
            self.stdout.write("orders exist already: none added")
            return
        with tqdm(total=orders, desc="demo orders", unit="order", disable=orders == 0) as bar:
            made = demo.make_orders(orders, days=days, seed=seed, progress=bar.update)
        self.stdout.write(self.style.SUCCESS(f"{made} demo orders created"))
