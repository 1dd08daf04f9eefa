// The counter's side: query and redeem a code with an operator token (role staff: bff operators add).
// For staff devices only: never ship the operator token in a page customers load.
import { BffClient } from './index.js'
import { BffError } from './errors.js'
import { newIdempotencyKey } from './request.js'

export class StaffClient extends BffClient {
  /** @param {object} options  baseUrl, adminToken, and BffClient's transport options. */
  constructor (options = {}) {
    if (!options.adminToken) throw new TypeError('adminToken is required')
    super(options)
    this.adminToken = options.adminToken
  }

  get token () { return this.adminToken }
  set token (value) { /* the operator token does not change */ }

  login () {
    return Promise.reject(new BffError({ code: 401, status: 'Unauthorized', message: 'the operator token was refused' }, { httpStatus: 401 }))
  }

  /** What WeChat says of a code: owner, whether it can be consumed, validity. */
  queryCode ({ cardId, code, encryptCode }) {
    return this.request('POST', '/v1/admin/codes/query', { body: codeRef(cardId, code, encryptCode), idempotent: true, relogin: false })
  }

  /** Redeem a code at the counter, once: retried under one Idempotency-Key (pass the same key
   * to repeat a call whose answer was lost; another redemption of the code is a 409). */
  redeemCode ({ cardId, code, encryptCode, staffId, location, idempotencyKey = newIdempotencyKey() }) {
    const body = codeRef(cardId, code, encryptCode)
    if (staffId) body.staff_id = staffId
    if (location) body.location = location
    return this.request('POST', '/v1/admin/codes/redeem', { body, idempotent: true, relogin: false, idempotencyKey })
  }
}

function codeRef (cardId, code, encryptCode) {
  const body = {}
  if (cardId) body.card_id = cardId
  if (code) body.code = code
  if (encryptCode) body.encrypt_code = encryptCode
  return body
}

export function createStaffClient (options) {
  return new StaffClient(options)
}
