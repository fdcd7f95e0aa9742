"""Public API schemas, separate from the domain models; every field carries a description for the OpenAPI docs."""

from api.schemas.accounts import AccountIn, AccountPublic, NewAccountPublic
from api.schemas.audit import ConsistencyPublic, EventPublic, ProblemPublic, ReceiptPublic, TracePublic, VerifyPublic
from api.schemas.chat import (
    ChatRequest,
    CitedVersionPublic,
    CurrentSessionPublic,
    HealthPublic,
    HeldReviewPublic,
    HitPublic,
    MePublic,
    SessionTurnsPublic,
    TurnPublic,
    TurnRecordPublic,
)
from api.schemas.common import DB_INT_MAX, ERRORS, JSON_ERRORS, ErrorBody, ErrorEnvelope, Page, Public, page
from api.schemas.feedback import (
    DisputeIn,
    DisputeReviewIn,
    PolicyMatchPublic,
    PolicyReportPublic,
    RatingIn,
    RatingPublic,
    ResolveIn,
    TicketDetailPublic,
    TicketPublic,
)
from api.schemas.knowledge import (
    BundlePublic,
    DecisionIn,
    DiffPublic,
    DraftIn,
    DuePublic,
    InboxPublic,
    IngestJobPublic,
    IngestMessagePublic,
    IngestOutcomePublic,
    IngestReportPublic,
    ItemPublic,
    MatterPublic,
    RetireIn,
    SectionDiffPublic,
    SectionIn,
    TagEditIn,
    VersionPublic,
)
from api.schemas.review import ApplicationPublic, EditIn, HandoffNoteIn, HandoffPublic, HeldPublic, ReasonIn

__all__ = [
    "DB_INT_MAX", "ERRORS", "JSON_ERRORS", "AccountIn", "AccountPublic", "ApplicationPublic", "BundlePublic", "ChatRequest", "CitedVersionPublic",
    "CurrentSessionPublic",
    "ConsistencyPublic", "DecisionIn", "DiffPublic", "DisputeIn", "DisputeReviewIn", "DraftIn", "DuePublic", "EditIn",
    "ErrorBody", "ErrorEnvelope", "EventPublic", "HandoffNoteIn", "HandoffPublic", "HealthPublic", "HeldPublic",
    "HeldReviewPublic", "HitPublic", "InboxPublic", "IngestJobPublic", "IngestMessagePublic", "IngestOutcomePublic",
    "IngestReportPublic", "ItemPublic", "MatterPublic", "MePublic", "NewAccountPublic", "Page", "PolicyMatchPublic",
    "PolicyReportPublic", "ProblemPublic", "Public", "RatingIn", "RatingPublic", "ReasonIn", "ReceiptPublic",
    "ResolveIn", "RetireIn", "SectionDiffPublic", "SectionIn", "SessionTurnsPublic", "TagEditIn", "TicketDetailPublic",
    "TicketPublic", "TracePublic", "TurnPublic", "TurnRecordPublic", "VerifyPublic", "VersionPublic", "page",
]
