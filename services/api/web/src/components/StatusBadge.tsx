/** active / missing for resources; success / partial / failed / running for scans. */
export function StatusBadge({ status }: { status: string | null | undefined }) {
  const value = status ?? 'never'
  return <span className={`badge badge-${value.replace(/[^a-z_]/gi, '')}`}>{value.replace(/_/g, ' ')}</span>
}
