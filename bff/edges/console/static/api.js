// The one way the console talks to the service: same-origin fetch with the session cookie.
// Every change (non-GET) carries the session's CSRF token, which lives only in this module's
// memory; after a reload it is read again from GET /v1/admin/session.

let csrfToken = null
let onSignedOut = () => {}

export class ApiError extends Error {
  constructor (status, body) {
    super((body && body.message) || `HTTP ${status}`)
    this.status = status
    this.body = body || {}
  }
}

/** A request that never reached an answer (network down, answer lost): safe to retry. */
export class LostAnswer extends Error {}

export function useSession (csrf, signedOut) {
  csrfToken = csrf
  if (signedOut) onSignedOut = signedOut
}

export function forgetSession () {
  csrfToken = null
}

/** JSON in and out. `query` skips empty values; `form` sends a FormData (file uploads). */
export async function api (method, path, { body, query, headers = {}, form } = {}) {
  const url = new URL(path, location.origin)
  for (const [k, v] of Object.entries(query || {})) {
    if (Array.isArray(v)) v.forEach((one) => url.searchParams.append(k, one))
    else if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v)
  }
  const sent = { Accept: 'application/json', ...headers }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) sent['X-CSRF-Token'] = csrfToken
  let payload
  if (form) payload = form
  else if (body !== undefined) {
    sent['Content-Type'] = 'application/json'
    payload = JSON.stringify(body)
  }
  let res
  try {
    res = await fetch(url, { method, headers: sent, body: payload, credentials: 'same-origin', cache: 'no-store' })
  } catch (e) {
    throw new LostAnswer('no answer from the service (network); try again')
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null)
  if (res.status === 401 && !path.startsWith('/v1/admin/session')) onSignedOut('Your session ended; sign in again.')
  if (!res.ok) throw new ApiError(res.status, data)
  return data
}

/** A URL of the service for an <img> or a download link (the cookie goes along). */
export function serviceUrl (path, query = {}) {
  const url = new URL(path, location.origin)
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
  return url.pathname + url.search
}

export function newKey () {
  return crypto.randomUUID()
}
