import time

from django.core.management.base import BaseCommand, CommandError

from tickets import classification
from tickets.models import ClassifierModel


class Command(BaseCommand):
    help = ("Train the category classifier from confirmed orders; print cross-validated accuracy "
            "and per-class F1; store it as the new active version.")

    def add_arguments(self, parser):
        parser.add_argument("--folds", type=int, default=5)
        parser.add_argument("--if-missing", action="store_true",
                            help="train only when no model exists yet (first start)")

    def handle(self, *args, folds, if_missing, **options):
        if folds < 2:
            raise CommandError("--folds must be at least 2")
        if if_missing and ClassifierModel.objects.exists():
            self.stdout.write("a classifier exists already: not retrained")
            return
        started = time.perf_counter()
        try:
            result = classification.train(folds=folds)
        except ValueError as exc:
            raise CommandError(str(exc))
        model = result.model
        self.stdout.write(f"trained on {model.samples} orders, {len(result.labels)} classes, "
                          f"{time.perf_counter() - started:.1f} s")
        self.stdout.write(f"{'class':<16}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
        for label in result.labels:
            row = model.report[label]
            self.stdout.write(f"{label:<16}{row['precision']:>10.3f}{row['recall']:>8.3f}"
                              f"{row['f1-score']:>8.3f}{int(row['support']):>9}")
        self.stdout.write(self.style.SUCCESS(
            f"model v{model.version}: cross-validated accuracy {model.accuracy:.3f}, "
            f"macro-F1 {model.macro_f1:.3f}"))
