// H5 pages: the web-authorization code in the page URL, and the authorize URL that yields one.

/** A URL's query, each value percent-decoded exactly once ('+' is data, as in an encrypt_code). */
export function queryOf (url) {
  const query = url.split('#')[0].split('?')[1] || ''
  const out = {}
  for (const pair of query.split('&')) {
    if (!pair) continue
    const at = pair.indexOf('=')
    const [k, v] = at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)]
    try { out[decodeURIComponent(k)] = decodeURIComponent(v) } catch { out[k] = v }
  }
  return out
}

/** The page's ?code=, removed from the address bar so a reload does not offer it again. */
export function codeFromPage (loc, history) {
  if (!loc || !loc.href) return null
  const url = new URL(loc.href)
  const code = url.searchParams.get('code')
  if (code && history && typeof history.replaceState === 'function') {
    url.searchParams.delete('code')
    url.searchParams.delete('state')
    history.replaceState(history.state, '', url.toString())
  }
  return code
}

/** WeChat's web-authorization URL, coming back to `redirectUri` without its old code. */
export function authorizeUrlFor ({ authorizeUrl, appId, scope }, redirectUri, state) {
  const back = new URL(redirectUri)
  back.searchParams.delete('code')
  back.searchParams.delete('state')
  back.hash = ''
  const q = new URLSearchParams({
    appid: appId ?? '', redirect_uri: back.toString(), response_type: 'code', scope, state
  })
  return `${authorizeUrl}?${q}#wechat_redirect`
}
