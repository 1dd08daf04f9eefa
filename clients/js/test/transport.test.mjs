// The request path's rules on their own: Retry-After parsing, what is retried, wx.request's shape.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { BffError, createClient, NetworkError, retryAfterMs, wxRequestTransport } from '../index.js'

/** A client over a scripted transport; `answers` are returned in order, an Error is thrown. */
function scripted (answers, options = {}) {
  const seen = []
  const waits = []
  const transport = async (req) => {
    seen.push(req)
    const next = answers.shift()
    if (next instanceof Error) throw next
    const headers = Object.fromEntries(Object.entries(next.headers || {}).map(([k, v]) => [k.toLowerCase(), v]))
    return { status: next.status, header: (n) => headers[n.toLowerCase()] ?? null, data: next.data ?? null }
  }
  const client = createClient({ baseUrl: 'http://bff.test/', wx: {}, platform: 'h5', transport, sleep: async (ms) => { waits.push(ms) }, ...options })
  client.token = 'a-token'
  return { client, seen, waits }
}

describe('Retry-After', () => {
  test('seconds and HTTP dates', () => {
    assert.equal(retryAfterMs('2'), 2000)
    assert.equal(retryAfterMs(' 0 '), 0)
    const now = Date.parse('Sun, 29 Nov 2026 08:00:00 GMT')
    assert.equal(retryAfterMs('Sun, 29 Nov 2026 08:00:05 GMT', now), 5000)
    assert.equal(retryAfterMs('Sun, 29 Nov 2026 07:00:00 GMT', now), 0)
    for (const bad of [null, undefined, '', 'soon', '-1', '1.5']) assert.equal(retryAfterMs(bad), null)
  })
})

describe('what is retried', () => {
  test('an idempotent call after 503 without Retry-After backs off, then succeeds', async () => {
    const { client, seen, waits } = scripted([{ status: 503, data: { code: 503 } }, { status: 200, data: { cards: [] } }])
    assert.deepEqual(await client.myCards(), [])
    assert.equal(seen.length, 2)
    assert.equal(waits.length, 1)
    assert.ok(waits[0] > 0 && waits[0] <= 4000)
    assert.equal(seen[0].url, 'http://bff.test/v1/cards/mine')
    assert.equal(seen[0].headers.authorization, 'Bearer a-token')
  })

  test('at most maxRetries extra attempts, then the last answer is the error', async () => {
    const busy = () => ({ status: 429, headers: { 'Retry-After': '1' }, data: { code: 429, status: 'Too Many Requests', message: 'slow down' } })
    const { client, seen, waits } = scripted([busy(), busy(), busy()])
    const err = await client.myCards().catch((e) => e)
    assert.ok(err instanceof BffError)
    assert.equal(err.code, 429)
    assert.equal(err.retryAfter, 1)
    assert.equal(seen.length, 3)
    assert.deepEqual(waits, [1000, 1000])
  })

  test('no answer: an idempotent call is retried, a non-idempotent one is not', async () => {
    const down = () => new Error('ECONNRESET')
    const read = scripted([down(), { status: 200, data: { cards: [] } }])
    assert.deepEqual(await read.client.myCards(), [])
    assert.equal(read.seen.length, 2)

    const write = scripted([down(), { status: 200, data: { card_list: [] } }])
    const err = await write.client.addCards(['pcard']).catch((e) => e)
    assert.ok(err instanceof NetworkError, String(err))
    assert.equal(write.seen.length, 1)
    assert.deepEqual(write.waits, [])
  })

  test('a non-idempotent call is never repeated after 429 or 503', async () => {
    for (const status of [429, 503]) {
      const { client, seen } = scripted([{ status, headers: { 'retry-after': '1' }, data: { code: status, status: 'x', message: 'later' } }])
      const err = await client.addCards(['pcard']).catch((e) => e)
      assert.equal(err.code, status)
      assert.equal(err.retryAfter, 1)
      assert.equal(seen.length, 1)
    }
  })

  test('an error body that is not the service\'s shape still gives a BffError with the HTTP status', async () => {
    const { client } = scripted([{ status: 502, data: '<html>bad gateway</html>' }])
    const err = await client.me().catch((e) => e)
    assert.ok(err instanceof BffError)
    assert.equal(err.code, 502)
    assert.equal(err.message, 'HTTP 502')
  })
})

describe('wx.request transport', () => {
  test('sends JSON, reads any header case, parses the text body', async () => {
    const calls = []
    const wx = {
      request (params) {
        calls.push(params)
        params.success({ statusCode: 429, header: { 'Retry-After': '3', 'X-Request-Id': 'r1' }, data: '{"code":429,"status":"Too Many Requests","message":"m"}' })
      }
    }
    const res = await wxRequestTransport(wx)({ method: 'POST', url: 'http://bff.test/x', headers: { 'content-type': 'application/json' }, body: { a: 1 } })
    assert.equal(calls[0].data, '{"a":1}')
    assert.equal(calls[0].dataType, 'text')
    assert.equal(res.status, 429)
    assert.equal(res.header('retry-after'), '3')
    assert.equal(res.header('x-request-id'), 'r1')
    assert.equal(res.data.message, 'm')
  })

  test('a failed wx.request is no answer', async () => {
    const wx = { request (params) { params.fail({ errMsg: 'request:fail timeout' }) } }
    await assert.rejects(wxRequestTransport(wx)({ method: 'GET', url: 'http://bff.test/x', headers: {} }), /request:fail timeout/)
  })
})

describe('409 with Retry-After: the service waits on WeChat', () => {
  const pending = () => ({ status: 409, headers: { 'Retry-After': '2' }, data: { code: 409, status: 'Conflict', message: 'WeChat has not yet confirmed that you received this card; retry in a moment' } })

  test('decrypt right after wx.addCard waits as asked, then succeeds', async () => {
    const card = { card_id: 'p1', code: '123456789012', user_card_status: 'NORMAL' }
    const { client, seen, waits } = scripted([pending(), pending(), { status: 200, data: card }])
    assert.deepEqual(await client.decrypt('enc', 'p1'), card)
    assert.equal(seen.length, 3)
    assert.deepEqual(waits, [2000, 2000])
  })

  test('a bounded number of times, then the 409 is the caller\'s', async () => {
    const { client, seen, waits } = scripted(Array.from({ length: 10 }, pending), { maxConflictRetries: 3 })
    const err = await client.decrypt('enc', 'p1').catch((e) => e)
    assert.ok(err instanceof BffError)
    assert.equal(err.code, 409)
    assert.equal(err.retryAfter, 2)
    assert.equal(seen.length, 4)
    assert.deepEqual(waits, [2000, 2000, 2000])
  })

  test('a 409 without Retry-After, or on a call not marked retryable, is not retried', async () => {
    const final = scripted([{ status: 409, data: { code: 409, status: 'Conflict', message: 'already redeemed' } }])
    assert.equal((await final.client.decrypt('enc', 'p1').catch((e) => e)).code, 409)
    assert.equal(final.seen.length, 1)
    const login = scripted([pending()])
    login.client.token = null
    const err = await login.client.request('POST', '/v1/sessions/h5', { body: { code: 'c' }, auth: false, idempotent: false }).catch((e) => e)
    assert.equal(err.code, 409)
    assert.equal(login.seen.length, 1)
    assert.deepEqual(login.waits, [])
  })

  test('a Retry-After longer than maxRetryWait is not waited out', async () => {
    const long = { status: 409, headers: { 'Retry-After': '60' }, data: { code: 409, status: 'Conflict', message: 'later' } }
    const { client, seen, waits } = scripted([long])
    assert.equal((await client.decrypt('enc', 'p1').catch((e) => e)).retryAfter, 60)
    assert.equal(seen.length, 1)
    assert.deepEqual(waits, [])
  })
})

test('an Idempotency-Key is made without Web Crypto too (a Mini Program has none)', async () => {
  const { newIdempotencyKey } = await import('../request.js')
  const keys = new Set(Array.from({ length: 200 }, () => newIdempotencyKey(null)))
  assert.equal(keys.size, 200)
  for (const key of keys) assert.match(key, /^[0-9a-f]{32}$/)
  assert.match(newIdempotencyKey(), /^[0-9a-f]{32}$/)
})

