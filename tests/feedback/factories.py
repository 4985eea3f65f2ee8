"""A round with completed reviews (made through the review service) for the feedback tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from tests.factories import Org, catalogue, items_of, make_plan_row, make_round, two_team_draw
from tilsyn.catalogue.models import ControlPoint
from tilsyn.reviews import recording as reviews
from tilsyn.reviews.models import CaseReview
from tilsyn.rounds.models import Round
from tilsyn.sampling.models import DrawItem

TODAY = date(2026, 11, 2)
#: Control points asked in the test round (sygedagpenge cases).
CODES = ("JOBMAAL-01", "SAMLET-01")


@dataclass
class Setup:
    org: Org
    round: Round
    points: dict[str, ControlPoint]
    items: list[DrawItem]  # AAA, AAA, BBA
    reviews: list[CaseReview]  # AAA's first two (completed), BBA's (completed)


def not_in_order_option(cp: ControlPoint) -> int:
    return next(o.id for o in cp.scale.options if o.outcome == "not_in_order")


def setup_round(session: Session, org: Org, *, emails: bool = True) -> Setup:
    points = catalogue(session)
    plan = make_plan_row(session, "Team A kvartal", org.unit_a.id)
    draw = two_team_draw(session, org)
    asked = [points[c] for c in CODES]
    rnd = make_round(session, plan, draw, asked)
    items = items_of(session, draw)
    admin = org.users["admin"]
    done = []
    for item in items:
        data = {}
        for cp in asked:
            if cp.code == CODES[0]:
                data[cp.id] = (not_in_order_option(cp), "Jobmålet mangler")
            else:
                data[cp.id] = (
                    next(o.id for o in cp.scale.options if o.outcome == "in_order"),
                    "Intern bemærkning" if item is items[0] else "",
                )
        done.append(
            reviews.save_review(
                session,
                admin,
                rnd.id,
                item.id,
                data,
                "Samlet: god sag",
                True,
                {cp.id: "Sagen viser andet end udtrækket" for cp in asked},
            )
        )
    if emails:
        org.users["sagsbehandler"].email = "aaa@test.example"
        org.users["sagsbehandler2"].email = "bba@test.example"
        org.users["leder"].email = "leder@test.example"
    session.commit()
    return Setup(org, rnd, points, items, done)
