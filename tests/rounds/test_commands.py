"""``tilsyn rounds list``: the plain-text table."""

from __future__ import annotations

from flask import Flask

from tests.factories import SampledCase, make_draw, make_plan_row, make_round
from tilsyn.rounds.commands import rounds_group


def test_rounds_list_shows_whole_plan_names_in_aligned_columns(app: Flask, session, org) -> None:
    long_name = "Kvartalstilsyn Sygedagpenge og Jobafklaring Syd"
    draw = make_draw(session, org, [SampledCase(org.cw_a1, "sygedagpenge", 0.5)])
    make_round(session, make_plan_row(session, long_name, None), draw, [], label="2026-K3")
    make_round(session, make_plan_row(session, "Kort", None), None, [], label="2026-K4")
    session.commit()

    lines = app.test_cli_runner().invoke(rounds_group, ["list"]).output.splitlines()

    assert lines[0].startswith("Plan" + " " * (len(long_name) - 3) + "Periode")
    by_period = {
        period: line for line in lines[1:] for period in ("2026-K3", "2026-K4") if period in line
    }
    assert by_period["2026-K3"].startswith(long_name + " 2026-K3")
    assert by_period["2026-K4"].startswith("Kort" + " " * (len(long_name) - 3) + "2026-K4")
    assert by_period["2026-K3"].rstrip().endswith(f"{draw.id:>9} {draw.sample_size:>6}")
