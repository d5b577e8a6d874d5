// The API's JSON shapes (camelCase, as services/api/src/inventory_api/schemas.py declares them).

export interface Resource {
  resourceId: string
  resourceArn: string
  resourceType: string
  name: string
  region: string
  accountId: string
  accountName: string
  state: string
  tags: Record<string, string>
  lastDiscoveredAt: string
  discoveryStatus: string
}

export interface ResourceDetail extends Resource {
  metadata: Record<string, unknown>
  firstDiscoveredAt: string
  missingSince?: string | null
}

/** GET /api/inventory/resource-history/{arn}: the lake's resource_history rows, newest first. */
export interface HistoryEntry {
  executionId: string
  discoveredAt: string | null
  state: string | null
  name: string | null
  region: string | null
  resourceType: string | null
}

export interface ResourceHistoryPage {
  resourceArn: string
  available: boolean
  items: HistoryEntry[]
  nextToken: string | null
}

export interface Pagination {
  page: number
  pageSize: number
  totalItems: number
  totalPages: number
}

export interface FilterOptions {
  resourceTypes: string[]
  regions: string[]
  accounts: { id: string; name: string }[]
}

export interface ResourcesPage {
  items: Resource[]
  pagination: Pagination
  filters: FilterOptions
}

export interface AccountStatus {
  accountId: string
  accountName: string
  lastSyncedAt: string | null
  lastSyncStatus: string | null
  resourceCount: number
  syncEnabled: boolean
}

export interface StatusResponse {
  accounts: AccountStatus[]
  nextScheduledSync: string | null
}

export interface SyncResponse {
  message: string
  executionId: string
  status: 'in_progress'
}

export interface ScanAccountProgress {
  accountId: string
  status: string
  resourceCount?: number | null
  durationMs?: number | null
  completedAt?: string | null
}

export interface ScanExecution {
  executionId: string
  status: string
  trigger?: string | null
  requestedBy?: string | null
  startedAt?: string | null
  completedAt?: string | null
  resourceCount?: number | null
  durationMs?: number | null
  accounts: ScanAccountProgress[]
}

export interface ExportResponse {
  downloadUrl: string
  expiresAt: string
}

export interface Account {
  accountId: string
  accountName: string
  roleName: string
  roleArn: string
  regions: string[] | null
  syncEnabled: boolean
  externalIdConfigured: boolean
  externalIdHint: string | null
  source: 'inventory' | 'nucleus'
  lastSyncedAt: string | null
  lastSyncStatus: string | null
  lastSyncResourceCount: number | null
  lastSyncDurationMs: number | null
  lastSyncExecutionId: string | null
}

export interface AccountsPage {
  items: Account[]
  count: number
}

export interface RegionCheck {
  region: string
  status: 'ok' | 'access_denied' | 'region_not_enabled' | 'throttled' | 'error'
  action: string | null
  message: string | null
}

export interface AccountCheck {
  accountId: string
  checkedAt: string
  results: RegionCheck[]
}

export interface SyncExecutionSummary {
  executionId: string
  trigger: string | null
  requestedBy: string | null
  startedAt: string | null
  finishedAt: string | null
  status: string
  accountsTotal: number | null
  accountsCompleted: number | null
  resourceCount: number | null
  failedScopes: number | null
}

export interface SyncHistoryPage {
  items: SyncExecutionSummary[]
  nextToken: string | null
}

export type RoleName = 'viewer' | 'operator' | 'admin'

export interface Me {
  user: string
  role: RoleName
  roles: RoleName[]
}

export interface UiConfig {
  authMode: 'local' | 'oidc'
  oidc: { issuer: string | null; clientId: string; authorizeUrl: string; tokenUrl: string; scopes: string } | null
}
