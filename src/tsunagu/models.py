"""Every table, imported in one place so Alembic sees the whole schema."""

from tsunagu.access.models import Membership, PlatformOperator
from tsunagu.appeals.models import Appeal, AppealAttachment, AppealSection, AppealTransition
from tsunagu.core.db import Base
from tsunagu.customers.models import Customer
from tsunagu.enforcement.models import (
    EnforcementChange,
    EnforcementDeactivation,
    EnforcementEvaluation,
    EnforcementState,
)
from tsunagu.events.models import Event, ImportRun
from tsunagu.health.models import (
    HealthAlert,
    HealthDirtyMark,
    HealthRollup,
    HealthRollupState,
    HealthSnapshot,
)
from tsunagu.identity.models import (
    ApiToken,
    AuditEntry,
    AuthSession,
    AuthThrottle,
    EmailVerification,
    IdentityLink,
    LinkApproval,
    LinkConfirmation,
    LinkGroup,
    LinkRequest,
    OutboxMessage,
    PasswordReset,
    Principal,
    RecoveryCode,
    TotpFactor,
)
from tsunagu.jobs.models import Job
from tsunagu.listings.models import Offer
from tsunagu.notifications.email_models import AlertDigest, EmailDelivery, EmailPreference
from tsunagu.notifications.models import Delivery, Notification, Webhook
from tsunagu.orders.models import Message, Order, OrderCase, OrderItem
from tsunagu.personal.models import InstallationSecret, PersonalLink, PersonalRecord
from tsunagu.points.models import (
    PointsAccount,
    PointsCursor,
    PointsEntry,
    PointsExpiryWarning,
    PointsGrant,
    PointsRedemption,
    PointsSetting,
)
from tsunagu.sellers.models import Seller, Store
from tsunagu.settlement.models import (
    SettlementCursor,
    SettlementEntry,
    SettlementHold,
    SettlementReport,
)
from tsunagu.violations.models import Violation

metadata = Base.metadata

__all__ = [
    "AlertDigest",
    "ApiToken",
    "Appeal",
    "AppealAttachment",
    "AppealSection",
    "AppealTransition",
    "AuditEntry",
    "AuthSession",
    "AuthThrottle",
    "Customer",
    "Delivery",
    "EmailDelivery",
    "EmailPreference",
    "EmailVerification",
    "EnforcementChange",
    "EnforcementDeactivation",
    "EnforcementEvaluation",
    "EnforcementState",
    "Event",
    "HealthAlert",
    "HealthDirtyMark",
    "HealthRollup",
    "HealthRollupState",
    "HealthSnapshot",
    "IdentityLink",
    "ImportRun",
    "InstallationSecret",
    "Job",
    "LinkApproval",
    "LinkConfirmation",
    "LinkGroup",
    "LinkRequest",
    "Membership",
    "Message",
    "Notification",
    "Offer",
    "Order",
    "OrderCase",
    "OrderItem",
    "OutboxMessage",
    "PasswordReset",
    "PersonalLink",
    "PersonalRecord",
    "PlatformOperator",
    "PointsAccount",
    "PointsCursor",
    "PointsEntry",
    "PointsExpiryWarning",
    "PointsGrant",
    "PointsRedemption",
    "PointsSetting",
    "Principal",
    "RecoveryCode",
    "Seller",
    "SettlementCursor",
    "SettlementEntry",
    "SettlementHold",
    "SettlementReport",
    "Store",
    "TotpFactor",
    "Violation",
    "Webhook",
    "metadata",
]
