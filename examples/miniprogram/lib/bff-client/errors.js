// The two kinds of failure a caller sees: the service's answer, and WeChat's client API.

/** A non-2xx answer of the service, carrying its one JSON error shape. */
export class BffError extends Error {
  constructor (body, { httpStatus, retryAfter = null, requestId = null, method, path } = {}) {
    const b = body && typeof body === 'object' ? body : {}
    super(b.message || `HTTP ${httpStatus}`)
    this.name = 'BffError'
    this.code = typeof b.code === 'number' ? b.code : httpStatus
    this.status = b.status || ''
    if (b.errors !== undefined) this.errors = b.errors
    if (b.errcode !== undefined) this.errcode = b.errcode
    this.requestId = b.request_id || requestId
    this.retryAfter = retryAfter
    this.method = method
    this.path = path
  }

  /** The error as the service sent it: {code, status, message, errors?, errcode?}. */
  toJSON () {
    const out = { code: this.code, status: this.status, message: this.message }
    if (this.errors !== undefined) out.errors = this.errors
    if (this.errcode !== undefined) out.errcode = this.errcode
    return out
  }
}

/** The service could not be reached at all (no HTTP answer). */
export class NetworkError extends Error {
  constructor (cause, { method, path } = {}) {
    super(`network error on ${method} ${path}: ${cause && cause.message ? cause.message : cause}`)
    this.name = 'NetworkError'
    this.cause = cause
    this.method = method
    this.path = path
  }
}

/** A WeChat client API (wx.addCard, wx.login, wx.config, ...) failed or was cancelled. */
export class WxError extends Error {
  constructor (api, res) {
    const errMsg = (res && res.errMsg) || `${api}:fail`
    super(errMsg)
    this.name = 'WxError'
    this.api = api
    this.errMsg = errMsg
    this.cancelled = /:cancel\b/.test(errMsg)
    this.result = res
  }
}
