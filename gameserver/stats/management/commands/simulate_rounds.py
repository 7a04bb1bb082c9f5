"""`python manage.py simulate_rounds --set NAME --rounds N --skill-km 500 [--skill-km 3000 ...] [--seed S]
[--model NAME] [--vectorised]`: synthetic players of the given skills (median error, km) play N rounds each against
the real model, then the benchmark table of what they played is printed. --vectorised draws the rounds in NumPy
against the model's real guesses on one game's panoramas and stores nothing (10^6 rounds in seconds)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gameserver.games.errors import GameError
from gameserver.inference.models import ModelVersion
from gameserver.panoramas.models import PanoramaSet
from gameserver.stats.render import render_text
from gameserver.stats.report import benchmark_of_frame
from gameserver.stats.selectors import Filters, benchmark_from_rows, round_rows
from gameserver.stats.simulation import rounds_simulate, rounds_simulate_vectorised


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--set", required=True, dest="set_name")
        parser.add_argument("--rounds", type=int, default=50)
        parser.add_argument("--skill-km", type=float, action="append", dest="skills", default=None)
        parser.add_argument("--model", default=None)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--vectorised",
            action="store_true",
            help="draw the rounds in NumPy (stored nowhere) instead of playing each one",
        )

    def handle(
        self,
        *args: object,
        set_name: str,
        rounds: int,
        skills: list[float] | None,
        model: str | None,
        seed: int,
        vectorised: bool = False,
        **options: object,
    ) -> None:
        try:
            panorama_set = PanoramaSet.objects.get(name=set_name)
            version = ModelVersion.objects.get(name=model) if model else None
            if vectorised:
                frame = rounds_simulate_vectorised(
                    panorama_set=panorama_set,
                    rounds=rounds,
                    skills_km=skills or [1500.0],
                    seed=seed,
                    model_version=version,
                )
                self.stdout.write(render_text(tables=benchmark_of_frame(frame, seed=seed)))
                return
            games = rounds_simulate(
                panorama_set=panorama_set, rounds=rounds, skills_km=skills or [1500.0], seed=seed, model_version=version
            )
        except PanoramaSet.DoesNotExist:
            raise CommandError(f"no panorama set named {set_name!r}") from None
        except ModelVersion.DoesNotExist:
            raise CommandError(f"no model named {model!r}") from None
        except (GameError, ValueError) as error:
            raise CommandError(str(error)) from None
        rows = round_rows(filters=Filters(games=tuple(game.public_id for game in games)))
        self.stdout.write(render_text(tables=benchmark_from_rows(rows=rows, seed=seed)))
