// How a request leaves the page: fetch in H5 (and node), wx.request in a Mini Program.
// A transport takes {method, url, headers, body} and resolves to {status, header(name), data};
// it rejects only when no HTTP answer came back.

function parse (text) {
  if (typeof text !== 'string') return text
  if (!text) return null
  try { return JSON.parse(text) } catch { return text }
}

/** A transport over WHATWG fetch (browsers, node >= 18). */
export function fetchTransport (fetchImpl = globalThis.fetch) {
  if (typeof fetchImpl !== 'function') throw new TypeError('fetch is not available: pass options.fetch')
  return async ({ method, url, headers, body }) => {
    const res = await fetchImpl(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit' // the bearer token is the only credential; no cookies cross origins
    })
    return { status: res.status, header: (name) => res.headers.get(name), data: parse(await res.text()) }
  }
}

/** A transport over a Mini Program's wx.request. */
export function wxRequestTransport (wx) {
  return ({ method, url, headers, body }) => new Promise((resolve, reject) => {
    wx.request({
      url,
      method,
      header: headers,
      data: body === undefined ? undefined : JSON.stringify(body),
      dataType: 'text', // parsed here, so an error body that is not JSON does not throw inside wx
      responseType: 'text',
      success (res) {
        const lower = {}
        for (const [k, v] of Object.entries(res.header || {})) lower[k.toLowerCase()] = v
        resolve({ status: res.statusCode, header: (name) => lower[name.toLowerCase()] ?? null, data: parse(res.data) })
      },
      fail (res) { reject(new Error((res && res.errMsg) || 'request:fail')) }
    })
  })
}

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date); null when absent or bad. */
export function retryAfterMs (value, now = Date.now()) {
  if (value === null || value === undefined || value === '') return null
  const s = String(value).trim()
  if (/^\d+$/.test(s)) return Number(s) * 1000
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(s)) return null // IMF-fixdate
  const at = Date.parse(s)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
