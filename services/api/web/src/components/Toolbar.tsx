import { useEffect, useState } from 'react'

import { describeError } from '../api'
import { exactTime } from '../format'
import { RUNNING, useInventory } from '../store'

export const SEARCH_DEBOUNCE_MS = 300

/** The search box: the query changes 300 ms after the last keystroke. */
export function SearchBox({ value, onSearch }: { value: string; onSearch: (text: string) => void }) {
  const [text, setText] = useState(value)
  useEffect(() => setText(value), [value])
  useEffect(() => {
    if (text === value) return
    const timer = setTimeout(() => onSearch(text), SEARCH_DEBOUNCE_MS)
    return () => clearTimeout(timer)
  }, [text, value, onSearch])
  return (
    <input
      type="search"
      className="search"
      placeholder="Search name, id or ARN"
      aria-label="Search resources"
      value={text}
      maxLength={256}
      onChange={(event) => setText(event.target.value)}
    />
  )
}

export function ExportButton() {
  const exportState = useInventory((s) => s.exportState)
  const exportToExcel = useInventory((s) => s.exportToExcel)
  const [elapsed, setElapsed] = useState(0)
  useEffect(() => {
    if (exportState.phase !== 'running') return
    const timer = setInterval(() => setElapsed(Math.round((Date.now() - exportState.startedAt) / 1000)), 500)
    return () => clearInterval(timer)
  }, [exportState])
  const run = async () => {
    setElapsed(0)
    try {
      const url = await exportToExcel()
      const link = document.createElement('a') // the file comes from S3 (presigned), not through the API
      link.href = url
      link.rel = 'noopener'
      link.download = ''
      document.body.appendChild(link)
      link.click()
      link.remove()
    } catch {
      // the state shows the error
    }
  }
  return (
    <span className="export">
      <button type="button" onClick={run} disabled={exportState.phase === 'running'} aria-busy={exportState.phase === 'running'}>
        {exportState.phase === 'running' ? `Exporting… ${elapsed} s` : 'Export'}
      </button>
      {exportState.phase === 'running' && <progress aria-label="Export in progress" />}
      <span role="status" className="export-status">
        {exportState.phase === 'done' && (
          <>
            Download started.{' '}
            <a href={exportState.url} rel="noopener">
              Link
            </a>{' '}
            valid until {exactTime(exportState.expiresAt)}
          </>
        )}
        {exportState.phase === 'error' && <span className="error-text">Export failed: {describeError(exportState.error)}</span>}
      </span>
    </span>
  )
}

export function SyncButton({ accountId, accountName }: { accountId?: string; accountName?: string }) {
  const execution = useInventory((s) => s.execution)
  const triggerSync = useInventory((s) => s.triggerSync)
  const running = execution !== null && RUNNING.has(execution.status)
  return (
    <button
      type="button"
      className="primary"
      onClick={() => triggerSync(accountId)}
      disabled={running}
      aria-busy={running}
      title={accountId ? `Scan account ${accountId} now` : 'Scan every enabled account now'}
    >
      {running ? 'Sync running…' : accountId ? `Sync ${accountName ?? accountId}` : 'Sync now'}
    </button>
  )
}
