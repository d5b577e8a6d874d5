// One fetch wrapper: bearer token, JSON, and the API's error shape {error, message, requestId, details?}.

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly requestId: string | null
  readonly retryAfterS: number | null

  constructor(status: number, code: string, message: string, requestId: string | null, retryAfterS: number | null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.requestId = requestId
    this.retryAfterS = retryAfterS
  }
}

type TokenSource = () => string | null
type Listener = (error: ApiError) => void

let tokenSource: TokenSource = () => null
const unauthorizedListeners = new Set<Listener>()

export function setTokenSource(source: TokenSource): void {
  tokenSource = source
}

/** Called on every 401, so the app can go back to sign-in. Returns the unsubscribe function. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers)
  headers.set('Accept', 'application/json')
  const token = tokenSource()
  if (token) headers.set('Authorization', `Bearer ${token}`)
  let body = init.body
  if (init.json !== undefined) {
    headers.set('Content-Type', 'application/json')
    body = JSON.stringify(init.json)
  }
  let response: Response
  try {
    response = await fetch(path, { ...init, headers, body })
  } catch (cause) {
    throw new ApiError(0, 'network_error', `The API cannot be reached (${String(cause)})`, null, null)
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let parsed: unknown = null
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    parsed = null
  }
  if (!response.ok) {
    const err = (parsed ?? {}) as { error?: string; message?: string; requestId?: string }
    const retry = response.headers.get('Retry-After')
    const error = new ApiError(
      response.status,
      err.error ?? `http_${response.status}`,
      err.message ?? (response.statusText || `HTTP ${response.status}`),
      err.requestId ?? null,
      retry !== null && /^\d+$/.test(retry) ? Number(retry) : null,
    )
    if (response.status === 401) unauthorizedListeners.forEach((listener) => listener(error))
    throw error
  }
  return parsed as T
}

/** A sentence for an error state: what happened and what to do. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429)
      return `Too many requests: retry in ${error.retryAfterS ?? 60} s.`
    if (error.status === 403) return `Not allowed: ${error.message}`
    if (error.status === 0) return error.message
    return `${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`
  }
  return String(error)
}
