"""Imports every model module so the metadata (and Alembic) sees all tables."""

from tilsyn.audit.models import AuditEvent
from tilsyn.auth.models import LoginAttempt, User
from tilsyn.cases.models import Case, Snapshot
from tilsyn.org.models import Caseworker, Unit
from tilsyn.risk.models import RiskModelVersion
from tilsyn.sampling.models import Draw, DrawItem

__all__ = [
    "AuditEvent",
    "Case",
    "Caseworker",
    "Draw",
    "DrawItem",
    "LoginAttempt",
    "RiskModelVersion",
    "Snapshot",
    "Unit",
    "User",
]
