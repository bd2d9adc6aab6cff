from django.core.management.base import BaseCommand

from journeys.models import Reflection, Reply, rerender_bodies


class Command(BaseCommand):
    help = (
        "Store the rendered HTML of every reflection and reply body again "
        "(run after supportgroup.text.render_plain changes). Only rows that differ are written."
    )

    def handle(self, *args, **options):
        for model, name in ((Reflection, "reflections"), (Reply, "replies")):
            changed = rerender_bodies(model)
            self.stdout.write(f"{name}: {changed} re-rendered")
