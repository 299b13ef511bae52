from django.apps import apps
from django.core.management.base import BaseCommand

from dispatch import reference_data


class Command(BaseCommand):
    help = "Load or refresh Beijing's units, categories, dispatch catalogue, policies and aliases."

    def handle(self, *args, **options):
        counts = reference_data.load(apps)
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count}")
