// The bff client for Mini Programs (wx.request + wx APIs) and H5 pages (fetch + the JS-SDK).
// No runtime dependencies. Errors carry the service's JSON error shape (BffError).
import { WxError } from './errors.js'
import { authorizeUrlFor, codeFromPage, queryOf } from './h5.js'
import { newIdempotencyKey, send } from './request.js'
import { memoryStorage, wxStorage } from './storage.js'
import { fetchTransport, wxRequestTransport } from './transport.js'
import { callWx, chosenCards, configWx } from './wx.js'

export { BffError, NetworkError, WxError } from './errors.js'
export { fetchTransport, retryAfterMs, wxRequestTransport } from './transport.js'
export { memoryStorage, wxStorage } from './storage.js'

const DEFAULTS = {
  maxRetries: 2, // extra attempts of an idempotent call after 429/503 or no answer
  maxConflictRetries: 5, // extra attempts of an idempotent call after 409 with Retry-After
  maxRetryWait: 10000, // ms; a longer Retry-After is handed to the caller instead of waited out
  authorizeUrl: 'https://open.weixin.qq.com/connect/oauth2/authorize',
  scope: 'snsapi_base'
}

// A Mini Program injects `wx` into each module's scope, not always onto globalThis
/* global wx */
const ambientWx = () => (typeof wx !== 'undefined' ? wx : (typeof globalThis !== 'undefined' ? globalThis.wx : undefined))

function detectPlatform (wx) {
  return wx && typeof wx.request === 'function' && typeof wx.login === 'function' ? 'miniprogram' : 'h5'
}

const hasWxStorage = (wx) => ['getStorageSync', 'setStorageSync', 'removeStorageSync'].every((f) => typeof wx[f] === 'function')

export class BffClient {
  /**
   * @param {object} options  baseUrl (required); wx (default globalThis.wx); platform
   *   ('miniprogram' | 'h5', detected from wx); fetch; transport; storage ({getItem,setItem,removeItem};
   *   default: wx storage in a Mini Program, kept across launches, else memory);
   *   appId + authorizeUrl + scope (H5 login redirect); h5Code (a function giving the H5 authorization
   *   code, default: ?code= of the page URL); location; maxRetries; maxConflictRetries; maxRetryWait (ms); sleep.
   */
  constructor (options = {}) {
    if (!options.baseUrl) throw new TypeError('baseUrl is required, e.g. https://api.example.com')
    this.options = { ...DEFAULTS, ...options }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.wx = options.wx ?? ambientWx()
    this.platform = options.platform ?? detectPlatform(this.wx)
    this.transport = options.transport ??
      (this.platform === 'miniprogram' && !options.fetch ? wxRequestTransport(this.wx) : fetchTransport(options.fetch))
    this.storage = options.storage ?? (this.platform === 'miniprogram' && hasWxStorage(this.wx) ? wxStorage(this.wx) : memoryStorage())
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
    this.usedCodes = new Set()
    this.loggingIn = null
  }

  get token () { return this.storage.getItem('bff.token') }
  set token (value) {
    if (value) this.storage.setItem('bff.token', value)
    else this.storage.removeItem('bff.token')
  }

  // ---- sessions --------------------------------------------------------------------------

  /** Log in: wx.login (Mini Program) or the web-authorization code (H5) -> a session. */
  login () {
    if (!this.loggingIn) {
      this.loggingIn = this._login().finally(() => { this.loggingIn = null })
    }
    return this.loggingIn
  }

  async _login () {
    let path, code
    if (this.platform === 'miniprogram') {
      code = (await callWx(this.wx, 'login')).code
      path = '/v1/sessions/miniprogram'
    } else {
      code = this._h5Code()
      if (!code) {
        const redirecting = this._redirectToAuthorize()
        throw new WxError('login', {
          errMsg: redirecting
            ? 'login:fail redirecting to web authorization'
            : 'login:fail no unused web-authorization code (give appId to redirect for one)'
        })
      }
      this.usedCodes.add(code) // a code is good for one exchange; never send it twice
      path = '/v1/sessions/h5'
    }
    const session = await this.request('POST', path, { body: { code }, auth: false, idempotent: false })
    this.token = session.token
    return session
  }

  _h5Code () {
    const code = this.options.h5Code
      ? this.options.h5Code()
      : codeFromPage(this.options.location ?? globalThis.location, globalThis.history)
    return code && !this.usedCodes.has(code) ? code : null
  }

  /** The web-authorization URL that comes back to `redirectUri` (default: this page) with ?code=. */
  authorizeUrl (redirectUri, state = 'bff') {
    const loc = this.options.location ?? globalThis.location
    return authorizeUrlFor(this.options, redirectUri ?? loc.href, state)
  }

  _redirectToAuthorize () {
    const loc = this.options.location ?? globalThis.location
    if (!this.options.appId || !loc || typeof loc.assign !== 'function') return false
    loc.assign(this.authorizeUrl())
    return true
  }

  /** Revoke the session token. */
  async logout () {
    if (!this.token) return
    try {
      await this.request('DELETE', '/v1/sessions/current', { relogin: false })
    } finally {
      this.token = null
    }
  }

  /** The caller's linked openids. */
  me () { return this.request('GET', '/v1/me') }

  // ---- cards -----------------------------------------------------------------------------

  /** add-card -> wx.addCard -> decrypt each returned code: the cards the user now holds. */
  async addCards (cardIds, { outerStr } = {}) {
    const cards = cardIds.map((id) => (outerStr ? { card_id: id, outer_str: outerStr } : { card_id: id }))
    const { card_list: cardList } = await this.request('POST', '/v1/cards/add-card', { body: { cards } })
    const res = await callWx(this.wx, 'addCard', { cardList })
    const returned = res.cardList || []
    const added = returned.filter((c) => c.isSuccess !== false && c.code)
    if (!added.length && returned.length) throw new WxError('addCard', { errMsg: 'addCard:fail no card was added', ...res })
    return Promise.all(added.map((c) => this.decrypt(c.code, c.cardId)))
  }

  /** Decrypt an encrypt_code (only the code's owner may). */
  decrypt (encryptCode, cardId) {
    const body = cardId ? { encrypt_code: encryptCode, card_id: cardId } : { encrypt_code: encryptCode }
    return this.request('POST', '/v1/cards/codes/decrypt', { body, idempotent: true })
  }

  /**
   * What WeChat appends to a card's link (a card entry's URL, or a Mini Program page's query):
   * encrypt_code, card_id, openid and, for member cards, outer_str. From a URL (default: the
   * page's) or a Mini Program page's onLoad options. null when it carries no encrypt_code.
   */
  cardLink (source) {
    if (source === undefined) {
      const loc = this.options.location ?? globalThis.location
      source = loc && loc.href
    }
    const data = typeof source === 'string' ? queryOf(source) : source
    if (!data || !data.encrypt_code) return null
    const out = { encryptCode: data.encrypt_code }
    if (data.card_id) out.cardId = data.card_id
    if (data.openid) out.openid = data.openid
    if (data.outer_str) out.outerStr = data.outer_str
    return out
  }

  /**
   * The card a link opened, decrypted for its holder: decrypt's answer plus the link's
   * outerStr (a member card's channel, counted as opened by the service). null without a link.
   */
  async cardFromLink (source) {
    const link = this.cardLink(source)
    if (!link) return null
    const body = { encrypt_code: link.encryptCode }
    if (link.cardId) body.card_id = link.cardId
    if (link.outerStr) body.outer_str = link.outerStr
    const card = await this.request('POST', '/v1/cards/codes/decrypt', { body, idempotent: true })
    return link.outerStr ? { ...card, outer_str: link.outerStr } : card
  }

  /** The user's cards with real codes. */
  async myCards () {
    return (await this.request('GET', '/v1/cards/mine')).cards
  }

  /** wx.openCard for the given cards ({card_id|cardId, code}), or all the user's usable cards. */
  async openCards (cards) {
    const list = cards ?? (await this.myCards()).filter((c) => c.user_card_status === 'NORMAL')
    const cardList = list.map((c) => ({ cardId: c.cardId ?? c.card_id, code: c.code }))
    await callWx(this.wx, 'openCard', { cardList })
    return cardList
  }

  /** H5: sign chooseCard, let the user pick (wx.chooseCard), decrypt the picked codes. */
  async chooseCard ({ cardId, cardType, shopId } = {}) {
    const body = {}
    if (cardId) body.card_id = cardId
    if (cardType) body.card_type = cardType
    if (shopId) body.shop_id = shopId
    const signed = await this.request('POST', '/v1/cards/choose-card', { body, idempotent: true })
    const res = await callWx(this.wx, 'chooseCard', signed)
    return Promise.all(chosenCards(res).map((c) => this.decrypt(c.encrypt_code, c.card_id)))
  }

  /** Self-redemption of the user's own code (cards whose profile allows it). */
  redeem ({ cardId, code, encryptCode, idempotencyKey = newIdempotencyKey() }) {
    const body = { card_id: cardId }
    if (code) body.code = code
    if (encryptCode) body.encrypt_code = encryptCode
    // One Idempotency-Key per call, the same on each retry: a retry gets the first answer, and
    // WeChat sees one consume. Another call on a redeemed code is a 409 saying when and how.
    return this.request('POST', '/v1/cards/codes/redeem', { body, idempotent: true, idempotencyKey })
  }

  /**
   * H5: the card a card's link was opened for: cardLink(url), under the name the guide uses
   * (one parser of WeChat's link parameters). decrypt(encryptCode, cardId), or cardFromLink,
   * gives its code (only to its holder). From `url` (default: this page); null if none.
   */
  cardFromUrl (url) {
    return this.cardLink(url)
  }

  // ---- JS-SDK ----------------------------------------------------------------------------

  /** Sign wx.config for `url` (default: this page without its fragment) and run it when wx is there. */
  async jssdkConfig (url, jsApiList = ['addCard', 'chooseCard', 'openCard']) {
    const loc = this.options.location ?? globalThis.location
    const pageUrl = (url ?? (loc && loc.href) ?? '').split('#')[0]
    const signed = await this.request('POST', '/v1/jssdk/config', { body: { url: pageUrl }, idempotent: true })
    const config = { debug: false, ...signed, jsApiList }
    if (this.wx && typeof this.wx.config === 'function') await configWx(this.wx, config)
    return config
  }

  // ---- membership ------------------------------------------------------------------------

  /** The activation plug-in's parameters, ready for wx.navigateToMiniProgram ({appId, extraData}). */
  async activationPlugin (cardId, { outerStr } = {}) {
    const body = outerStr ? { card_id: cardId, outer_str: outerStr } : { card_id: cardId }
    const plugin = await this.request('POST', '/v1/membership/activation-plugin', { body, idempotent: true })
    return { appId: plugin.appId, extraData: plugin.extraData, url: plugin.url }
  }

  /** Open the activation plug-in: navigateToMiniProgram in a Mini Program, WeChat's URL in H5. */
  async openActivationPlugin (cardId, options = {}) {
    const plugin = await this.activationPlugin(cardId, options)
    if (this.platform === 'miniprogram') {
      return callWx(this.wx, 'navigateToMiniProgram', { appId: plugin.appId, extraData: plugin.extraData })
    }
    const loc = this.options.location ?? globalThis.location
    loc.assign(plugin.url)
    return plugin
  }

  /**
   * What the activation plug-in handed back, as activate() takes it: from App.onShow's options
   * (referrerInfo.extraData), the extraData itself, or (H5) the URL WeChat returned to. null if none.
   */
  activationReturn (source) {
    let data = source && source.referrerInfo ? source.referrerInfo.extraData : source
    if (typeof data === 'string') data = queryOf(data)
    if (!data || !data.activate_ticket) return null
    const out = { activateTicket: data.activate_ticket, cardId: data.card_id }
    if (data.encrypt_code) out.encryptCode = data.encrypt_code
    else if (data.code) out.code = data.code
    return out
  }

  /**
   * Activate the member card with what the plug-in returned (idempotent per activate_ticket).
   * Nothing to activate (activationReturn gave null: a launch that is no return from the plug-in)
   * resolves to null, so App.onShow can call activate(activationReturn(options)) every time.
   */
  async activate (returned) {
    if (!returned) return null
    const { activateTicket, cardId, encryptCode, code } = returned
    const body = { activate_ticket: activateTicket, card_id: cardId }
    if (encryptCode) body.encrypt_code = encryptCode
    if (code) body.code = code
    return this.request('POST', '/v1/membership/activate', { body, idempotent: true })
  }

  /** The caller's member card: number, bonus, balance, form fields. */
  memberCard (cardId) {
    return this.request('GET', `/v1/membership/cards/${encodeURIComponent(cardId)}`)
  }

  /** What this WeChat supports, from a User-Agent (default: the one the request carries). */
  capabilities ({ userAgent } = {}) {
    const ua = userAgent ?? this.options.userAgent
    const query = ua ? `?ua=${encodeURIComponent(ua)}` : ''
    return this.request('GET', '/v1/capabilities' + query, { auth: false })
  }

  // ---- the one request path --------------------------------------------------------------

  /** One call to the service; see request.js for what is retried. */
  request (method, path, options) {
    return send(this, method, path, options)
  }
}

/** A client for the current environment; see BffClient for the options. */
export function createClient (options) {
  return new BffClient(options)
}
