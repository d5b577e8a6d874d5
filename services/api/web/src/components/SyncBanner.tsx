import { useEffect } from 'react'

import { describeError } from '../api'
import { count, exactTime } from '../format'
import { RUNNING, useInventory } from '../store'
import { StatusBadge } from './StatusBadge'
import { Time } from './Time'

export const POLL_MS = 2000

/** Last sync per account with status colours, a warning for failed/partial, the next scheduled sync, live progress. */
export function SyncBanner() {
  const accounts = useInventory((s) => s.syncStatus)
  const next = useInventory((s) => s.nextScheduledSync)
  const execution = useInventory((s) => s.execution)
  const syncError = useInventory((s) => s.syncError)
  const pollExecution = useInventory((s) => s.pollExecution)
  const running = execution !== null && RUNNING.has(execution.status)

  useEffect(() => {
    if (!running) return
    const timer = setInterval(() => void pollExecution(), POLL_MS)
    return () => clearInterval(timer)
  }, [running, pollExecution])

  const troubled = accounts.filter((a) => a.lastSyncStatus === 'failed' || a.lastSyncStatus === 'partial')
  const done = execution?.accounts.filter((a) => !RUNNING.has(a.status)).length ?? 0
  const total = execution?.accounts.length ?? 0
  return (
    <section className="sync-banner" aria-label="Sync status" data-testid="sync-banner">
      <ul className="sync-accounts">
        {accounts.map((a) => (
          <li key={a.accountId} className={`sync-account sync-${a.lastSyncStatus ?? 'never'}`} data-account={a.accountId}>
            <strong>{a.accountName}</strong> <StatusBadge status={a.syncEnabled ? (a.lastSyncStatus ?? 'never synced') : 'disabled'} />{' '}
            {a.lastSyncedAt && <Time iso={a.lastSyncedAt} />} <span className="muted">· {count(a.resourceCount)} resources</span>
          </li>
        ))}
      </ul>
      {troubled.length > 0 && (
        <p className="warning" role="alert">
          ⚠ Last sync {troubled.map((a) => `${a.accountName}: ${a.lastSyncStatus}`).join(', ')}. Their inventory may be
          incomplete.
        </p>
      )}
      <p className="muted next-sync">
        Next scheduled sync:{' '}
        {next ? (
          <time dateTime={next} title={next}>
            {exactTime(next)}
          </time>
        ) : (
          'none scheduled'
        )}
      </p>
      {execution && (
        <div className="scan-progress" role="status" aria-live="polite" data-status={execution.status}>
          {running ? (
            <>
              <span className="spinner" aria-hidden="true" /> Scan running
              {total ? `: ${done} of ${total} accounts done` : ': queued'}
              {execution.resourceCount ? `, ${count(execution.resourceCount)} resources` : ''}
              <progress max={total || 1} value={total ? done : undefined} aria-label="Scan progress" />
            </>
          ) : (
            <>
              Last scan <StatusBadge status={execution.status} /> {count(execution.resourceCount)} resources
              {execution.completedAt ? <> · finished <Time iso={execution.completedAt} /></> : null}
            </>
          )}
        </div>
      )}
      {syncError && (
        <p className="error-text" role="alert">
          Sync could not start: {describeError(syncError)}
        </p>
      )}
    </section>
  )
}
