// The one request path: auth header, retries that are safe, one re-login, errors in one shape.
import { BffError, NetworkError } from './errors.js'
import { retryAfterMs } from './transport.js'

const backoff = (attempt) => Math.min(4000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2)

/**
 * One call to the service for `client`. Idempotent calls (GET/PUT/DELETE, or `idempotent: true`)
 * are retried after 429/503 as Retry-After asks (at most maxRetries times, each wait <=
 * maxRetryWait) and after no answer; other calls never are. A 409 with Retry-After on such a
 * call says the service waits on WeChat (e.g. decrypt right after wx.addCard, before WeChat's
 * user_get_card push has arrived): it is waited out as asked, at most maxConflictRetries times.
 * A 401 logs in again once and repeats the call: the service refused it before doing anything. An `idempotencyKey` goes out as the
 * `Idempotency-Key` header, the same on every retry: the service answers a retry with the first
 * answer instead of doing it again.
 */
export async function send (client, method, path, { body, auth = true, idempotent, relogin = true, idempotencyKey } = {}) {
  const { maxRetries, maxRetryWait, maxConflictRetries } = client.options
  const safe = idempotent ?? ['GET', 'HEAD', 'PUT', 'DELETE'].includes(method)
  let attempt = 0
  let conflicts = 0
  let reloggedIn = !relogin
  for (;;) {
    if (auth && !client.token) await client.login()
    const headers = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (auth) headers.authorization = `Bearer ${client.token}`
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey
    let res
    try {
      res = await client.transport({ method, url: client.baseUrl + path, headers, body })
    } catch (e) {
      if (safe && attempt < maxRetries) {
        await client.sleep(backoff(attempt++))
        continue
      }
      throw new NetworkError(e, { method, path })
    }
    if (res.status >= 200 && res.status < 300) return res.data
    if (res.status === 401 && auth && !reloggedIn) {
      reloggedIn = true
      client.token = null
      continue
    }
    const wait = retryAfterMs(res.header('retry-after'))
    if ((res.status === 429 || res.status === 503) && safe && attempt < maxRetries) {
      const ms = wait ?? backoff(attempt)
      if (ms <= maxRetryWait) {
        attempt++
        await client.sleep(ms)
        continue
      }
    }
    if (res.status === 409 && safe && wait !== null && wait <= maxRetryWait &&
        conflicts < (maxConflictRetries ?? 5)) {
      conflicts++
      await client.sleep(wait)
      continue
    }
    if (res.status === 401 && auth) client.token = null
    throw new BffError(res.data, {
      httpStatus: res.status,
      retryAfter: wait === null ? null : Math.ceil(wait / 1000),
      requestId: res.header('x-request-id'),
      method,
      path
    })
  }
}

/** A fresh Idempotency-Key for one logical call (retries of that call reuse it). */
export function newIdempotencyKey (cryptoImpl = globalThis.crypto) {
  const bytes = new Uint8Array(16)
  if (cryptoImpl && typeof cryptoImpl.getRandomValues === 'function') cryptoImpl.getRandomValues(bytes)
  // a Mini Program has no Web Crypto (wx.getRandomValues is asynchronous): a key must only be
  // unique to its caller's calls, not secret, so Math.random and the time serve
  else for (let i = 0; i < 16; i++) bytes[i] = (Math.random() * 256) ^ (i < 6 ? (Date.now() / 2 ** (8 * i)) & 255 : 0)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
