"""Imports every model module so the metadata (and Alembic) sees all tables."""

from tilsyn.audit.models import AuditEvent
from tilsyn.auth.models import LoginAttempt, User
from tilsyn.cases.models import Case, Snapshot
from tilsyn.catalogue.models import ControlPoint, Scale, ScaleOption, Theme
from tilsyn.feedback.models import (
    FeedbackComment,
    FeedbackRelease,
    FollowUpAction,
    NoticePreference,
    PendingNotice,
    PlanFeedbackSetting,
)
from tilsyn.notifications.models import OutboxMessage
from tilsyn.org.models import Caseworker, Unit
from tilsyn.quality.models import (
    CalibrationAnswer,
    CalibrationCase,
    CalibrationResolution,
    CalibrationSetting,
)
from tilsyn.reviews.models import CaseReview, ReviewAnswer
from tilsyn.risk.models import RiskModelVersion
from tilsyn.rounds.models import (
    PlanRotatingTheme,
    Round,
    RoundControlPoint,
    RoundDraw,
    RoundTheme,
    SupervisionPlan,
)
from tilsyn.sampling.models import Draw, DrawItem

__all__ = [
    "AuditEvent",
    "CalibrationAnswer",
    "CalibrationCase",
    "CalibrationResolution",
    "CalibrationSetting",
    "Case",
    "CaseReview",
    "Caseworker",
    "ControlPoint",
    "Draw",
    "DrawItem",
    "FeedbackComment",
    "FeedbackRelease",
    "FollowUpAction",
    "LoginAttempt",
    "NoticePreference",
    "OutboxMessage",
    "PendingNotice",
    "PlanFeedbackSetting",
    "PlanRotatingTheme",
    "ReviewAnswer",
    "RiskModelVersion",
    "Round",
    "RoundControlPoint",
    "RoundDraw",
    "RoundTheme",
    "Scale",
    "ScaleOption",
    "Snapshot",
    "SupervisionPlan",
    "Theme",
    "Unit",
    "User",
]
