"""A synthetic demo municipality: teams, caseworkers, users and one snapshot of open cases.

:func:`build_demo` fills an *empty* database with a realistic, fully synthetic organisation so
the tool can be tried end to end (``make run`` calls ``tilsyn demo --if-empty``). Everything is
drawn from ``numpy.random.default_rng`` seeded from ``seed`` (never the global random state), and
every date is relative to ``today``, the as-of date (``tilsyn demo --as-of YYYY-MM-DD``, default
the real date), so a given ``seed`` and as-of date always give the same organisation, case rows
and extension data. Only the generated passwords are random (:mod:`secrets`) unless a password is
given. Teams differ in size as in the example export; every demo user has an e-mail address at
``demo.tilsyn.example`` so notifications reach someone.

The case attributes follow the distributions of a real case-system example export (3,003 open
cases, 45 caseworkers, 5 teams): scheme mix per team, case age roughly exponential with a median of
about seven months, conversations in the last 12 months growing with case age (about one every two
months), re-assessment deadlines (22, 52 and 78 weeks, then every 26 weeks) only for sygedagpenge,
jobafklaringsforløb and ledighedsydelse (so about 30 % have none), caseworker changes mostly 0, job
goal registered in about 46 % and CV on Jobnet in about 69 % of cases with a small per-caseworker
effect, weekly hours only for fleksjob.

Extensions
----------
Later features add their own demo data (an approved risk model, plans and rounds history) by
inserting one line, a dotted path ``"package.module:function"``, into the :data:`DEMO_EXTENSIONS`
list literal below (a registry like ``tilsyn/commands.py``)::

    DEMO_EXTENSIONS: list[str] = [
        "tilsyn.risk.demo:add_demo_risk_model",
    ]

Paths, not functions, are stored so this module never imports the features (no import cycles);
they are resolved with :mod:`importlib` when the demo is built. Each function is called, in list
order, after the base organisation exists, as ``function(session, admin_user, rng, today)``:
``admin_user`` is the demo's admin (use it as the actor), ``today`` the snapshot date, and
``rng`` a :class:`numpy.random.Generator` of its own, seeded from
``SeedSequence(seed, spawn_key=(1, crc32(path)))``. Adding or reordering extensions therefore
never changes what another extension (or the base organisation, ``spawn_key=(0,)``) draws.
Extensions call their feature's services, flush and never commit; a :class:`DemoError` (or any
exception) they raise aborts the whole demo (the command rolls back).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tilsyn.audit import services as audit
from tilsyn.auth.models import User
from tilsyn.auth.services import check_password_strength, create_user
from tilsyn.cases.models import Case, Snapshot
from tilsyn.errors import ServiceError
from tilsyn.org.models import Caseworker, Unit
from tilsyn.org.services import save_caseworker, save_unit
from tilsyn.permissions import ROLE_LABELS, Role
from tilsyn.schemes import SCHEME_NAMES_DA

#: Signature of a demo extension: ``(session, admin_user, rng, today) -> None``.
DemoExtension = Callable[[Session, User, np.random.Generator, date], None]

#: Dotted paths ``"module:function"`` of demo extensions, run in order after the base demo.
#: Features register by inserting one line here (see the module docstring).
DEMO_EXTENSIONS: list[str] = [
    "tilsyn.rounds.demo:add_demo_rounds",
    "tilsyn.reviews.demo:add_demo_reviews",
    "tilsyn.feedback.demo:add_demo_feedback",
]

DEMO_SOURCE_FILENAME = "demo (syntetisk)"
DEMO_MAPPING_NAME = "demo"
TARGET_CASES = 3000
CASEWORKERS_PER_TEAM = 9
MIN_CASELOAD, MAX_CASELOAD = 30, 120
#: Open cases per team in the example export (sagsudtraek-eksempel.csv), in the order of TEAMS.
EXAMPLE_TEAM_CASES = (487, 590, 594, 559, 773)
#: Demo users' e-mail domain (reserved example domain), so notifications reach someone.
DEMO_EMAIL_DOMAIN = "demo.tilsyn.example"
NEW_CASEWORKER_DAYS = 183  # "hired within the last 6 months"


class DemoError(ServiceError):
    """A user-facing (Danish) refusal to build the demo."""


@dataclass(frozen=True)
class TeamSpec:
    name: str
    schemes: tuple[tuple[str, float], ...]  # (scheme code, share of the team's cases)


TEAMS: tuple[TeamSpec, ...] = (
    TeamSpec("Sygedagpenge Nord", (("sygedagpenge", 1.0),)),
    TeamSpec("Sygedagpenge Syd", (("sygedagpenge", 0.5), ("jobafklaring", 0.5))),
    TeamSpec("Jobafklaring", (("jobafklaring", 1.0),)),
    TeamSpec("Ressourceforløb", (("ressourceforloeb", 0.5), ("kontanthjaelp", 0.5))),
    TeamSpec("Fleksjob", (("fleksjob", 0.5), ("ledighedsydelse", 0.5))),
)
#: Teams led by the demo team leader.
LEADER_TEAMS = ("Sygedagpenge Nord", "Sygedagpenge Syd")
#: Schemes whose cases carry a statutory re-assessment deadline in the export.
REASSESSMENT_SCHEMES = frozenset({"sygedagpenge", "jobafklaring", "ledighedsydelse"})
#: Re-assessment milestones in days after the case start (22, 52, 78 weeks; then every 26).
REASSESSMENT_MILESTONES = (154, 364, 546)
FLEX_HOURS = (4, 6, 8, 10, 12, 15, 18, 20)
CASEWORKER_CHANGE_P = (0.79, 0.163, 0.035, 0.008, 0.004)

FIRST_NAMES = (
    "Anne", "Anders", "Bente", "Birgitte", "Bo", "Camilla", "Christian", "Dorthe", "Emil",
    "Emma", "Frederik", "Gitte", "Hanne", "Henrik", "Ida", "Jens", "Jesper", "Julie", "Karen",
    "Kasper", "Kirsten", "Lars", "Line", "Louise", "Lærke", "Mads", "Maja", "Marianne", "Martin",
    "Mette", "Morten", "Niels", "Nanna", "Ole", "Pernille", "Peter", "Pia", "Rasmus", "Rikke",
    "Signe", "Sofie", "Susanne", "Søren", "Thomas", "Tina", "Trine", "Ulla", "Vibeke", "Åse",
    "Østen", "Helle", "Jakob", "Karina", "Malene", "Tobias", "Yvonne", "Gustav", "Freja",
)  # fmt: skip
SURNAMES = (
    "Andersen", "Bach", "Bæk", "Christensen", "Dahl", "Eriksen", "Friis", "Gregersen", "Hansen",
    "Holm", "Iversen", "Jensen", "Jørgensen", "Kjær", "Kristensen", "Larsen", "Lund", "Madsen",
    "Mikkelsen", "Møller", "Nielsen", "Nygaard", "Olsen", "Pedersen", "Petersen", "Poulsen",
    "Rasmussen", "Schmidt", "Sørensen", "Thomsen", "Toft", "Vestergaard", "Winther", "Østergaard",
    "Frandsen", "Lauridsen", "Ravn", "Skov", "Ebbesen", "Ulriksen",
)  # fmt: skip

#: Demo users: (username, role, display name). The leader leads LEADER_TEAMS; the caseworker
#: user is linked to a caseworker in the first of them.
DEMO_USERS: tuple[tuple[str, Role, str], ...] = (
    ("admin", Role.ADMIN, "Administrator"),
    ("leder", Role.TEAMLEDER, "Karin Lykke"),
    ("sagsbehandler", Role.SAGSBEHANDLER, ""),
    ("direktoer", Role.DIREKTOER, "Peter Brandt"),
    ("revisor", Role.REVISOR, "Anne Kjeldsen"),
)

_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    display_name: str
    password: str
    scope: str = ""
    email: str = ""


@dataclass(frozen=True)
class DemoSummary:
    seed: int
    as_of: date
    snapshot_id: int
    sha256: str
    units: int
    caseworkers: int
    new_caseworkers: int
    cases_per_scheme: dict[str, int]
    users: tuple[DemoUser, ...]
    extensions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_cases(self) -> int:
        return sum(self.cases_per_scheme.values())


@dataclass
class _CaseworkerPlan:
    initials: str
    name: str
    team: str
    employment_start: date
    caseload: int
    job_goal_p: float
    cv_p: float
    conversation_rate: float

    def is_new(self, today: date) -> bool:
        return (today - self.employment_start).days < NEW_CASEWORKER_DAYS


def readable_password() -> str:
    """A random password that is easy to read aloud and type: ``abcd-efgh-jkmn``."""
    return "-".join("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3))


def ensure_empty(session: Session) -> None:
    """Refuse (Danish :class:`DemoError`) unless the database has no users, units or cases."""
    for model, what in ((User, "brugere"), (Unit, "enheder"), (Caseworker, "sagsbehandlere")):
        if session.scalar(select(model.id).limit(1)) is not None:
            raise DemoError(
                f"Databasen er ikke tom (der findes allerede {what}). "
                "Demokommunen kan kun indlæses i en tom database."
            )
    if session.scalar(select(Snapshot.id).limit(1)) is not None:
        raise DemoError(
            "Databasen er ikke tom (der findes allerede sagsudtræk). "
            "Demokommunen kan kun indlæses i en tom database."
        )


def base_rng(seed: int) -> np.random.Generator:
    """The generator for the base organisation and cases."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))


def extension_rng(seed: int, path: str) -> np.random.Generator:
    """The generator handed to the extension registered as ``path``."""
    key = zlib.crc32(path.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, key)))


# --------------------------------------------------------------------------- organisation


def _draw_names(rng: np.random.Generator, count: int) -> list[tuple[str, str]]:
    """``count`` (initials, full name) pairs with unique 4-letter initials (SØBÆ = Søren Bæk)."""
    seen: set[str] = set()
    names: list[tuple[str, str]] = []
    while len(names) < count:
        first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
        last = SURNAMES[int(rng.integers(len(SURNAMES)))]
        initials = (first[:2] + last[:2]).upper()
        if initials in seen:
            continue
        seen.add(initials)
        names.append((initials, f"{first} {last}"))
    return names


def _team_totals(rng: np.random.Generator, capacity: np.ndarray) -> np.ndarray:
    """Cases per team: the example export's team sizes varied by up to 5 %, scaled to
    TARGET_CASES. A team that cannot carry its share (many new hires, who carry at most 60
    cases) passes the excess to the teams with the most room."""
    base = np.array(EXAMPLE_TEAM_CASES, dtype=float) * rng.uniform(0.95, 1.05, size=len(TEAMS))
    raw = base / base.sum() * TARGET_CASES
    totals = np.floor(raw).astype(int)
    short = TARGET_CASES - int(totals.sum())
    totals[np.argsort(-(raw - totals), kind="stable")[:short]] += 1
    excess = int(np.maximum(totals - capacity, 0).sum())
    totals = np.minimum(totals, capacity)
    while excess > 0:
        roomiest = int(np.argmax(capacity - totals))
        step = min(excess, int(capacity[roomiest] - totals[roomiest]))
        totals[roomiest] += step
        excess -= step
    return totals


def _fill(
    rng: np.random.Generator, loads: np.ndarray, upper: np.ndarray, target: int
) -> np.ndarray:
    """Add or remove single cases at random until ``loads`` sums to ``target`` within bounds."""
    while (diff := target - int(loads.sum())) != 0:
        step = 1 if diff > 0 else -1
        room = (loads < upper) if step > 0 else (loads > MIN_CASELOAD)
        candidates = np.flatnonzero(room)
        chosen = rng.choice(candidates, size=min(abs(diff), len(candidates)), replace=False)
        loads[chosen] += step
    return loads


def _caseloads(rng: np.random.Generator, new: np.ndarray, teams: list[str]) -> np.ndarray:
    """Caseloads between 30 and 120 summing to TARGET_CASES; new caseworkers carry at most 60.

    Teams differ in size as in the example export (487-773 cases for nine caseworkers), so a
    team's caseworkers share its total: heavier teams have heavier caseloads.
    """
    upper = np.where(new, 60, MAX_CASELOAD)
    members = [np.flatnonzero(np.array(teams) == team.name) for team in TEAMS]
    capacity = np.array([int(upper[idx].sum()) for idx in members])
    totals = _team_totals(rng, capacity)
    loads = np.zeros(len(new), dtype=int)
    for idx, total in zip(members, totals, strict=True):
        weights = np.where(
            new[idx],
            rng.uniform(MIN_CASELOAD, 60, size=len(idx)),
            rng.triangular(MIN_CASELOAD, 55, 130, size=len(idx)),
        )
        share = np.rint(weights / weights.sum() * int(total)).astype(int)
        team_loads = np.clip(share, MIN_CASELOAD, upper[idx])
        loads[idx] = _fill(rng, team_loads, upper[idx], int(total))
    return loads


def plan_caseworkers(rng: np.random.Generator, today: date) -> list[_CaseworkerPlan]:
    count = CASEWORKERS_PER_TEAM * len(TEAMS)
    names = _draw_names(rng, count)
    teams = [team.name for team in TEAMS for _ in range(CASEWORKERS_PER_TEAM)]
    # 6-8 new caseworkers, at least one in the demo leader's teams.
    n_new = int(rng.integers(6, 9))
    leader_idx = [i for i, team in enumerate(teams) if team in LEADER_TEAMS]
    first_new = int(rng.choice(leader_idx))
    others = [i for i in range(count) if i != first_new]
    new_idx = {first_new, *(int(i) for i in rng.choice(others, size=n_new - 1, replace=False))}
    new = np.array([i in new_idx for i in range(count)])
    loads = _caseloads(rng, new, teams)
    plans = []
    for i, ((initials, name), team) in enumerate(zip(names, teams, strict=True)):
        if new[i]:
            days = int(rng.integers(14, NEW_CASEWORKER_DAYS - 10))
        else:
            days = NEW_CASEWORKER_DAYS + 30 + int(min(rng.gamma(1.6, 1300.0), 30 * 365))
        plans.append(
            _CaseworkerPlan(
                initials=initials,
                name=name,
                team=team,
                employment_start=today - timedelta(days=days),
                caseload=int(loads[i]),
                job_goal_p=float(np.clip(0.46 + rng.normal(0, 0.06), 0.2, 0.8)),
                cv_p=float(np.clip(0.685 + rng.normal(0, 0.05), 0.4, 0.9)),
                conversation_rate=float(rng.uniform(0.8, 1.2)),
            )
        )
    return plans


# --------------------------------------------------------------------------- cases


def _reassessment_due(rng: np.random.Generator, start: date, age: int) -> date:
    """Next re-assessment milestone; in about one case in five an earlier, missed one."""
    milestones = list(REASSESSMENT_MILESTONES)
    while milestones[-1] < age:
        milestones.append(milestones[-1] + 182)
    upcoming = next(i for i, m in enumerate(milestones) if m >= age)
    if upcoming > 0 and rng.random() < 0.2:
        upcoming -= 1
    return start + timedelta(days=milestones[upcoming])


def plan_cases(
    rng: np.random.Generator, plans: list[_CaseworkerPlan], today: date
) -> list[dict[str, Any]]:
    """The case rows, keyed by caseworker initials and team name (no database ids)."""
    specs = {team.name: team for team in TEAMS}
    rows: list[dict[str, Any]] = []
    for plan in plans:
        spec = specs[plan.team]
        codes = [code for code, _ in spec.schemes]
        shares = np.array([share for _, share in spec.schemes])
        n = plan.caseload
        hired_this_year = (today - plan.employment_start).days < 365
        schemes = rng.choice(len(codes), size=n, p=shares / shares.sum())
        ages = np.minimum(7 + rng.exponential(290.0, size=n), 2250).astype(int)
        for k in range(n):
            scheme = codes[int(schemes[k])]
            age = int(ages[k])
            start = today - timedelta(days=age)
            expected = min(age, 365) / 61.0 * plan.conversation_rate
            conversations = int(min(rng.poisson(expected), 12))
            if conversations == 0:
                last = start
            else:
                gap = int(rng.exponential(36.0))
                last = today - timedelta(days=min(gap, age, 364))
            changes = int(rng.choice(len(CASEWORKER_CHANGE_P), p=CASEWORKER_CHANGE_P))
            if start < plan.employment_start and hired_this_year:
                changes = max(changes, 1)  # handed over to a caseworker hired this past year
            due = _reassessment_due(rng, start, age) if scheme in REASSESSMENT_SCHEMES else None
            hours = None
            if scheme == "fleksjob":
                hours = float(FLEX_HOURS[int(rng.integers(len(FLEX_HOURS)))])
                hours += 0.5 * int(rng.integers(2))
            rows.append(
                {
                    "caseworker": plan.initials,
                    "team": plan.team,
                    "scheme": scheme,
                    "start_date": start,
                    "last_conversation": last,
                    "conversations_12m": conversations,
                    "reassessment_due": due,
                    "caseworker_changes_12m": changes,
                    "job_goal": bool(rng.random() < plan.job_goal_p),
                    "cv_on_jobnet": bool(rng.random() < plan.cv_p),
                    "weekly_hours": hours,
                }
            )
    for seq, row in enumerate(rows, start=1):
        row["case_ref"] = f"S-{row['start_date'].year}-{seq:06d}"
    return rows


def canonical_digest(rows: list[dict[str, Any]]) -> str:
    """SHA-256 of a canonical JSON serialisation (sorted by case_ref, ISO dates)."""

    def plain(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value

    ordered = sorted(rows, key=lambda row: row["case_ref"])
    text = json.dumps(
        [{key: plain(row[key]) for key in sorted(row)} for row in ordered],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- build


def _resolve(path: str) -> DemoExtension:
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise DemoError(f"Ugyldig demo-udvidelse «{path}» (forventet «modul:funktion»).")
    function = getattr(importlib.import_module(module_name), attr, None)
    if not callable(function):
        raise DemoError(f"Demo-udvidelsen «{path}» findes ikke.")
    return cast(DemoExtension, function)


def run_extensions(session: Session, admin: User, seed: int, today: date) -> tuple[str, ...]:
    """Run every registered extension in order, each with its own generator."""
    paths = tuple(DEMO_EXTENSIONS)
    for path in paths:
        _resolve(path)(session, admin, extension_rng(seed, path), today)
        session.flush()
    return paths


def build_demo(
    session: Session,
    *,
    seed: int = 2026,
    password: str | None = None,
    today: date | None = None,
) -> DemoSummary:
    """Fill an empty database with the demo municipality. Flushes; the caller commits."""
    today = today or date.today()
    ensure_empty(session)
    if password is not None:
        check_password_strength(password)
    rng = base_rng(seed)

    units = {team.name: save_unit(session, None, team.name) for team in TEAMS}
    plans = plan_caseworkers(rng, today)
    caseworkers: dict[str, Caseworker] = {}
    for plan in plans:
        caseworkers[plan.initials] = save_caseworker(
            session, None, plan.initials, plan.name, units[plan.team], plan.employment_start
        )

    rows = plan_cases(rng, plans, today)
    digest = canonical_digest(rows)
    snapshot = Snapshot(
        as_of=today,
        source_filename=DEMO_SOURCE_FILENAME,
        sha256=digest,
        mapping_name=DEMO_MAPPING_NAME,
        row_count=len(rows),
        imported_by_id=None,
        imported_by_name=audit.SYSTEM_ACTOR,
    )
    session.add(snapshot)
    session.flush()
    db_rows = []
    for row in rows:
        caseworker = caseworkers[row["caseworker"]]
        values = {k: v for k, v in row.items() if k not in ("caseworker", "team")}
        values.update(
            snapshot_id=snapshot.id,
            caseworker_id=caseworker.id,
            unit_id=caseworker.unit_id,
            team_in_file=row["team"],
        )
        db_rows.append(values)
    session.execute(insert(Case), db_rows)
    per_scheme = {code: 0 for code in SCHEME_NAMES_DA}
    for row in rows:
        per_scheme[row["scheme"]] += 1
    per_scheme = {code: n for code, n in per_scheme.items() if n}
    audit.record(
        session,
        None,
        "create",
        "snapshot",
        snapshot.id,
        f"Demo-udtræk pr. {today:%d-%m-%Y} med {len(rows)} sager",
        {"source": DEMO_SOURCE_FILENAME, "sha256": digest, "seed": seed},
    )

    users = _create_users(session, plans, today, password)
    admin = session.scalar(select(User).where(User.username == "admin"))
    assert admin is not None
    extensions = run_extensions(session, admin, seed, today)
    audit.record(
        session,
        None,
        "demo",
        "system",
        None,
        "Demokommune indlæst",
        {"seed": seed, "as_of": today.isoformat(), "extensions": list(extensions)},
    )
    session.flush()
    return DemoSummary(
        seed=seed,
        as_of=today,
        snapshot_id=snapshot.id,
        sha256=digest,
        units=len(units),
        caseworkers=len(caseworkers),
        new_caseworkers=sum(plan.is_new(today) for plan in plans),
        cases_per_scheme=per_scheme,
        users=users,
        extensions=extensions,
    )


def _create_users(
    session: Session, plans: list[_CaseworkerPlan], today: date, password: str | None
) -> tuple[DemoUser, ...]:
    # The caseworker user: the experienced caseworker with the median caseload in the
    # leader's first team (so the leader sees this person's cases too).
    candidates = sorted(
        (p for p in plans if p.team == LEADER_TEAMS[0] and not p.is_new(today)),
        key=lambda p: (p.caseload, p.initials),
    )
    own = candidates[len(candidates) // 2]
    created = []
    for username, role, display_name in DEMO_USERS:
        secret = password if password is not None else readable_password()
        unit_names = list(LEADER_TEAMS) if role is Role.TEAMLEDER else None
        initials = own.initials if role is Role.SAGSBEHANDLER else None
        create_user(
            session,
            None,
            username,
            secret,
            role.value,
            display_name=display_name or None,
            email=f"{username}@{DEMO_EMAIL_DOMAIN}",
            unit_names=unit_names,
            caseworker_initials=initials,
        )
        scope = ""
        if unit_names:
            scope = ", ".join(unit_names)
        elif initials:
            scope = f"{initials} ({own.name}, {own.team})"
        created.append(
            DemoUser(
                username,
                role.value,
                display_name or own.name,
                secret,
                scope,
                f"{username}@{DEMO_EMAIL_DOMAIN}",
            )
        )
    return tuple(created)


def _dk_int(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def format_summary(summary: DemoSummary) -> str:
    """A Danish, plain-text account of what the demo created, with the login details."""
    lines = [
        f"Demokommune oprettet (frø {summary.seed}, opgjort pr. {summary.as_of:%d-%m-%Y}).",
        f"Enheder: {summary.units}",
        f"Sagsbehandlere: {summary.caseworkers} "
        f"(heraf {summary.new_caseworkers} ansat inden for de seneste 6 måneder)",
        f"Åbne sager i udtrækket: {_dk_int(summary.total_cases)}",
    ]
    for code, count in summary.cases_per_scheme.items():
        lines.append(f"  {SCHEME_NAMES_DA.get(code, code)}: {_dk_int(count)}")
    if summary.extensions:
        lines.append("Udvidelser: " + ", ".join(summary.extensions))
    lines.append("Brugere (brugernavn / adgangskode):")
    for user in summary.users:
        label = ROLE_LABELS.get(Role(user.role), user.role)
        scope = f" – {user.scope}" if user.scope else ""
        lines.append(f"  {user.username} / {user.password}  ({label}{scope}; {user.email})")
    return "\n".join(lines)
