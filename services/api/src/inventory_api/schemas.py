"""HTTP shapes, exactly as TRD section 4 names them (camelCase JSON)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

SortField = Literal["name", "resourceType", "region", "accountId", "state", "lastDiscoveredAt", "discoveryStatus"]
ExportColumn = Literal[
    "resourceId",
    "resourceArn",
    "resourceType",
    "name",
    "region",
    "accountId",
    "accountName",
    "state",
    "tags",
    "lastDiscoveredAt",
    "firstDiscoveredAt",
    "discoveryStatus",
]
DEFAULT_EXPORT_COLUMNS: tuple[ExportColumn, ...] = (
    "name",
    "resourceId",
    "resourceType",
    "accountId",
    "accountName",
    "region",
    "state",
    "tags",
    "lastDiscoveredAt",
    "discoveryStatus",
)


class ApiModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class RequestModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ResourcePublic(ApiModel):
    resourceId: str
    resourceArn: str
    resourceType: str
    name: str
    region: str
    accountId: str
    accountName: str
    state: str
    tags: dict[str, str]
    lastDiscoveredAt: str
    discoveryStatus: str


class ResourceDetail(ResourcePublic):
    metadata: dict[str, Any]
    firstDiscoveredAt: str
    missingSince: str | None = None


class Pagination(ApiModel):
    page: int
    pageSize: int
    totalItems: int
    totalPages: int


class AccountRef(ApiModel):
    id: str
    name: str


class Filters(ApiModel):
    resourceTypes: list[str]
    regions: list[str]
    accounts: list[AccountRef]


class ResourcesPage(ApiModel):
    items: list[ResourcePublic]
    pagination: Pagination
    filters: Filters


class Health(ApiModel):
    status: str


class ErrorDetail(ApiModel):
    parameter: str = Field(description="The offending parameter, e.g. pageSize or columns.2")
    location: str = Field(description="query, path, body or header")
    reason: str


class ErrorBody(ApiModel):
    error: str = Field(description="Machine-readable code: validation_error, unauthorized, forbidden, ...")
    message: str
    requestId: str
    details: list[ErrorDetail] | None = None


class SyncRequest(RequestModel):
    accountId: str | None = Field(default=None, pattern=r"^\d{12}$", description="Omit (or null) to sync all.")


class SyncResponse(ApiModel):
    message: str
    executionId: str
    status: Literal["in_progress"]


class ScanAccountProgress(ApiModel):
    accountId: str
    status: str
    resourceCount: int | None = None
    durationMs: int | None = None
    completedAt: str | None = None


class ScanExecutionPublic(ApiModel):
    executionId: str
    status: str
    trigger: str | None = None
    requestedBy: str | None = None
    startedAt: str | None = None
    completedAt: str | None = None
    resourceCount: int | None = None
    durationMs: int | None = None
    accounts: list[ScanAccountProgress]


# Comma lists (the grid's multi-select filters); the patterns are in the OpenAPI schema too.
ACCOUNT_LIST = r"^(\d{12}(,\d{12})*)?$"
STATUS_LIST = r"^((active|missing)(,(active|missing))*)?$"
# (TOKEN_LIST is a pattern, not a password)
TOKEN_LIST = r"^([A-Za-z0-9._:-]{1,128}(,[A-Za-z0-9._:-]{1,128})*)?$"  # nosec B105
# The web grid virtualises its rows, so one page may hold a whole estate of 100,000 resources.
MAX_PAGE_SIZE = 100_000


def _joined(value: Any) -> Any:
    """A JSON array of strings (the UI's export body) is the same filter as their comma list."""
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return ",".join(value)
    return value


AccountList = Annotated[
    Annotated[str, StringConstraints(max_length=2000, pattern=ACCOUNT_LIST)] | None, BeforeValidator(_joined)
]
TokenList = Annotated[
    Annotated[str, StringConstraints(max_length=2000, pattern=TOKEN_LIST)] | None, BeforeValidator(_joined)
]
StatusList = Annotated[
    Annotated[str, StringConstraints(max_length=200, pattern=STATUS_LIST)] | None, BeforeValidator(_joined)
]


def split_list(value: str | None) -> tuple[str, ...]:
    return tuple(part for part in value.split(",") if part) if value else ()


class ResourceFilters(RequestModel):
    """The grid's filters, one validation for the list endpoint's query and an export's ``filters``."""

    accountId: AccountList = Field(default=None, description="Comma list of 12-digit account ids")
    resourceType: TokenList = Field(default=None, description="Comma list of types (ec2, s3, ...)")
    region: TokenList = Field(default=None, description="Comma list of regions")
    status: StatusList = Field(default=None, description="Comma list of active, missing")
    search: str | None = Field(default=None, max_length=256, description="Substring of name, id or ARN")

    def query_fields(self) -> dict[str, Any]:
        """The filters as service.ResourceQuery's fields (lists split, empty search dropped)."""
        return {
            "account_ids": split_list(self.accountId),
            "resource_types": split_list(self.resourceType),
            "regions": split_list(self.region),
            "statuses": split_list(self.status),
            "search": self.search or None,
        }


class ResourceListQuery(ResourceFilters):
    """The list endpoint's query: the filters plus paging and order (unknown parameters are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    page: int = Field(default=1, ge=1, le=1_000_000)
    pageSize: int = Field(default=25, ge=1, le=MAX_PAGE_SIZE)
    sortBy: SortField = "name"
    sortOrder: Literal["asc", "desc"] = "asc"


ExportFilters = ResourceFilters  # the name the export body has always used


class ExportRequest(RequestModel):
    filters: ExportFilters = Field(default_factory=ExportFilters)
    columns: list[ExportColumn] = Field(default=list(DEFAULT_EXPORT_COLUMNS), min_length=1, max_length=24)
    sortBy: SortField = "name"
    sortOrder: Literal["asc", "desc"] = "asc"


class ExportResponse(ApiModel):
    downloadUrl: str
    expiresAt: str


class AccountStatus(ApiModel):
    accountId: str
    accountName: str
    lastSyncedAt: str | None
    lastSyncStatus: str | None
    resourceCount: int
    syncEnabled: bool


class StatusResponse(ApiModel):
    accounts: list[AccountStatus]
    nextScheduledSync: str | None


class AuditRecordPublic(ApiModel):
    time: str
    actor: str
    role: str
    action: str
    parameters: dict[str, Any]
    sourceIp: str | None
    outcome: str
    requestId: str | None = None
    clientRequestId: str | None = Field(default=None, description="The X-Request-Id the client sent, if any.")


class AuditPage(ApiModel):
    items: list[AuditRecordPublic]


class ScanChanges(ApiModel):
    currentExecutionId: str
    previousExecutionId: str | None
    appeared: int
    disappeared: int
    changed: int


class AnalyticsSummary(ApiModel):
    total: int
    byType: dict[str, int]
    byRegion: dict[str, int]
    byAccount: dict[str, int]
    byStatus: dict[str, int]
    changesSincePreviousScan: ScanChanges | None


# --- Operators: accounts and scan history (issue 11) ---------------------------------------------------------

ACCOUNT_ID_PATTERN = r"^\d{12}$"
ROLE_NAME_PATTERN = r"^NucleusAccess-[A-Za-z0-9+=,.@_-]{1,50}$"
# AWS accepts 2-1224 characters of [\w+=,.@:/-] for sts:ExternalId.
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$"

AccountNameStr = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
RoleNameStr = Annotated[str, Field(pattern=ROLE_NAME_PATTERN, description="A role name inside NucleusAccess-*.")]
ExternalIdStr = Annotated[
    str,
    Field(
        pattern=EXTERNAL_ID_PATTERN,
        description="Sent with sts:AssumeRole; kept on the Account item, never returned in full nor logged.",
    ),
]


def _known_regions() -> list[str]:
    """Every region botocore knows in every partition (its bundled endpoint data; no network, no environment)."""
    from botocore.session import get_session

    session = get_session()
    return sorted(
        {
            region
            for partition in session.get_available_partitions()
            for region in session.get_available_regions("ec2", partition_name=partition)
        }
    )


#: Listed in the OpenAPI schema (the UI's region picker); the service checks them again.
KNOWN_REGIONS = _known_regions()

RegionList = Annotated[
    list[Annotated[str, Field(pattern=REGION_PATTERN, json_schema_extra={"enum": KNOWN_REGIONS})]],
    Field(min_length=1, max_length=40, description="Regions to scan in this account; null = the default regions."),
]


class AccountPublic(ApiModel):
    accountId: str
    accountName: str
    roleName: str
    roleArn: str
    regions: list[str] | None
    syncEnabled: bool
    externalIdConfigured: bool
    externalIdHint: str | None = Field(description="The last characters of the ExternalId (4 at most), or null.")
    source: Literal["inventory", "nucleus"]
    lastSyncedAt: str | None = None
    lastSyncStatus: str | None = None
    lastSyncResourceCount: int | None = None
    lastSyncDurationMs: int | None = None
    lastSyncExecutionId: str | None = None


class AccountsPage(ApiModel):
    items: list[AccountPublic]
    count: int


class AccountCreate(RequestModel):
    accountId: str = Field(pattern=ACCOUNT_ID_PATTERN, description="12 digits.")
    accountName: AccountNameStr
    roleName: RoleNameStr | None = None
    externalId: ExternalIdStr | None = None
    regions: RegionList | None = None
    syncEnabled: bool = True


class AccountPatch(RequestModel):
    """Fields to change (none: the account as it is); null sends role, ExternalId or regions back to the default."""

    accountName: AccountNameStr | SkipJsonSchema[None] = None  # may be omitted, never null
    roleName: RoleNameStr | None = None
    externalId: ExternalIdStr | None = None
    regions: RegionList | None = None
    syncEnabled: bool | SkipJsonSchema[None] = None  # may be omitted, never null


RegionCheckStatus = Literal["ok", "access_denied", "region_not_enabled", "throttled", "error"]


class RegionCheck(ApiModel):
    region: str
    status: RegionCheckStatus
    action: str | None = Field(default=None, description="The action AWS named as denied, when it named one.")
    message: str | None = None


class AccountCheckPublic(ApiModel):
    accountId: str
    checkedAt: str
    results: list[RegionCheck]


class SyncExecutionSummary(ApiModel):
    executionId: str
    trigger: str | None
    requestedBy: str | None
    startedAt: str | None
    finishedAt: str | None
    status: str
    accountsTotal: int
    accountsCompleted: int
    resourceCount: int | None
    failedScopes: int


class SyncHistoryPage(ApiModel):
    items: list[SyncExecutionSummary]
    nextToken: str | None
