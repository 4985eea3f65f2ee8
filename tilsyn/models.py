"""Imports every model module so the metadata (and Alembic) sees all tables."""

from tilsyn.audit.models import AuditEvent
from tilsyn.auth.models import LoginAttempt, User
from tilsyn.cases.models import Case, Snapshot
from tilsyn.org.models import Caseworker, Unit

__all__ = ["AuditEvent", "Case", "Caseworker", "LoginAttempt", "Snapshot", "Unit", "User"]
