"""The resource model and the parts every event shares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The major version this code reads and writes. A consumer rejects any other major.
EVENT_MAJOR_VERSION = 1
EVENT_VERSION = f"{EVENT_MAJOR_VERSION}.0"

#: Region value of a scope whose resource type is global (S3 buckets, IAM, ...).
GLOBAL_REGION = "global"


def utc_now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UnsupportedEventVersionError(ValueError):
    """An event carries a major version this code does not understand."""


class Frozen(BaseModel):
    """Base of every wire model: immutable, tolerant of unknown fields when reading."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Scope(Frozen):
    """One unit of discovery: a resource type in one region of one account."""

    account_id: str = Field(pattern=r"^\d{12}$")
    region: str = Field(min_length=1)
    resource_type: str = Field(min_length=1)

    @property
    def key(self) -> str:
        """Stable string form, ``account#region#type``."""
        return f"{self.account_id}#{self.region}#{self.resource_type}"


class Resource(Frozen):
    """A discovered resource, normalized, with the raw API item it came from."""

    resource_id: str = Field(min_length=1)
    resource_arn: str = Field(min_length=1)
    resource_type: str = Field(min_length=1)
    account_id: str = Field(pattern=r"^\d{12}$")
    region: str = Field(min_length=1)
    name: str
    state: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict)
    discovered_at: datetime
    raw: dict[str, Any] = Field(default_factory=dict)


class EventEnvelope(Frozen):
    """Fields every event carries before its payload."""

    event_id: UUID = Field(default_factory=uuid4)
    event_version: str = EVENT_VERSION
    occurred_at: datetime = Field(default_factory=utc_now)
    execution_id: str = Field(min_length=1)

    @field_validator("event_version")
    @classmethod
    def _known_major(cls, value: str) -> str:
        major = value.split(".", 1)[0]
        if major != str(EVENT_MAJOR_VERSION):
            raise UnsupportedEventVersionError(
                f"event_version {value!r} has major {major!r}; this consumer reads major {EVENT_MAJOR_VERSION}"
            )
        return value


ScopeStatus = Literal["complete", "failed"]
AccountStatus = Literal["success", "partial", "failed"]
Trigger = Literal["schedule", "api", "cli"]
