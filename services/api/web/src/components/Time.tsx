import { exactTime, relativeTime } from '../format'

/** A relative time with the exact local time on hover (and for screen readers via the title). */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">never</span>
  return (
    <time dateTime={iso} title={exactTime(iso)}>
      {relativeTime(iso)}
    </time>
  )
}
