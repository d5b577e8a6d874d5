import { useEffect, useState } from 'react'

/** 429: say when the request may be retried, and retry then. */
export function RetryCountdown({ seconds, onRetry }: { seconds: number; onRetry: () => void }) {
  const [left, setLeft] = useState(seconds)
  useEffect(() => {
    if (left <= 0) {
      onRetry()
      return
    }
    const timer = setTimeout(() => setLeft(left - 1), 1000)
    return () => clearTimeout(timer)
  }, [left, onRetry])
  return <p className="muted">Retrying in {left} s…</p>
}
