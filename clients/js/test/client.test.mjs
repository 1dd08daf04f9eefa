// The client against a running `bff dev`, with `wx` stand-ins whose card APIs go to the sandbox.
import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'

import { BffError, createClient, memoryStorage, wxStorage, WxError } from '../index.js'
import { createStaffClient } from '../staff.js'
import { ADMIN_TOKEN, Sandbox, startBff, wxStandIn } from 'bff-client/testing'

const FORM = { USER_FORM_INFO_FLAG_MOBILE: '13912345678', USER_FORM_INFO_FLAG_NAME: '李小龙' }
const IPHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 10_3 like Mac OS X) AppleWebKit/603.1.30 ' +
  '(KHTML, like Gecko) Mobile/14E304 MicroMessenger/6.5.9 NetType/WIFI Language/zh_CN'

let bff, sandbox

before(async () => {
  bff = await startBff()
  sandbox = new Sandbox(bff.base)
})
beforeEach(async () => { await sandbox.clearFaults() })
after(async () => { await bff?.stop() })

/** A new simulated user in a Mini Program, with the client the page would build. */
async function miniProgramUser (options = {}) {
  const user = await sandbox.user()
  const wx = wxStandIn(sandbox, user, { form: FORM, ...options })
  const waits = []
  const client = createClient({ baseUrl: bff.base, wx, sleep: async (ms) => { waits.push(ms) } })
  return { user, wx, client, waits }
}

describe('in a Mini Program (wx.request, wx.login, wx.addCard)', () => {
  test('the platform is detected from wx', async () => {
    const { client } = await miniProgramUser()
    assert.equal(client.platform, 'miniprogram')
  })

  test('take a coupon: add-card, wx.addCard, decrypt, my cards, open it', async () => {
    const { client, wx } = await miniProgramUser()
    const session = await client.login()
    assert.ok(session.token && session.openid)
    const cardId = await sandbox.card({ card_type: 'GROUPON' })

    const added = await client.addCards([cardId], { outerStr: 'poster-7' })
    assert.equal(added.length, 1)
    assert.equal(added[0].card_id, cardId)
    assert.match(added[0].code, /^\d{12}$/)
    assert.equal(added[0].user_card_status, 'NORMAL')

    const mine = await client.myCards()
    assert.deepEqual(mine.map((c) => [c.card_id, c.code]), [[cardId, added[0].code]])
    const opened = await client.openCards()
    assert.deepEqual(opened, [{ cardId, code: added[0].code }])
    assert.deepEqual(wx.log.openCard, [[{ cardId, code: added[0].code }]])
  })

  test('a card link: cardFromLink decrypts what WeChat appended, with a member card\'s channel', async () => {
    const { client, user } = await miniProgramUser()
    await client.login()
    const cardId = await sandbox.card({ card_type: 'MEMBER_CARD', custom_url: 'https://h5.example/card' })
    const [added] = await client.addCards([cardId], { outerStr: 'poster-9' })
    const view = await sandbox.sim('open-card', { user: user.oa_openid, card_list: [{ card_id: cardId, code: added.code }] })
    const [link] = view.card_list[0].links
    assert.match(link.url, /^https:\/\/h5\.example\/card\?encrypt_code=[^&]+&card_id=[^&]+&openid=[^&]+&outer_str=poster-9/)
    const parsed = client.cardLink(link.url)
    assert.equal(parsed.cardId, cardId)
    assert.equal(parsed.openid, user.oa_openid)
    const card = await client.cardFromLink(link.url)
    assert.equal(card.code, added.code)
    assert.equal(card.card_id, cardId)
    assert.ok(card.outer_str.startsWith('poster-9'))
    // a Mini Program page gets the same parameters as its onLoad options
    const fromOptions = await client.cardFromLink({ encrypt_code: parsed.encryptCode, card_id: cardId })
    assert.equal(fromOptions.code, added.code)
    assert.equal(client.cardLink('https://h5.example/card'), null)
    assert.equal(await client.cardFromLink({}), null)
  })

  test('a tampered cardExt is refused by WeChat and nothing is decrypted', async () => {
    const { client } = await miniProgramUser({ tamper: true })
    const cardId = await sandbox.card({ card_type: 'GROUPON' })
    const err = await client.addCards([cardId]).catch((e) => e)
    assert.ok(err instanceof WxError, String(err))
    assert.equal(err.api, 'addCard')
    assert.deepEqual(await client.myCards(), [])
  })

  test('member card: plug-in parameters, the form, activate, member info', async () => {
    const { client, wx } = await miniProgramUser()
    const cardId = await sandbox.card({ card_type: 'MEMBER_CARD' })
    const plugin = await client.activationPlugin(cardId)
    assert.equal(plugin.appId, 'wxeb490c6f9b154ef9')
    assert.ok(plugin.extraData.encrypt_card_id && plugin.extraData.biz)

    await client.openActivationPlugin(cardId)
    assert.deepEqual(wx.log.navigate[0].appId, 'wxeb490c6f9b154ef9')
    // what the plug-in hands back: App.onShow(options) with options.referrerInfo.extraData
    const { activate_ticket: ticket, card_id: returnedCard, encrypt_code: encrypted } = wx.log.returned
    assert.deepEqual(wx.log.returnOptions.referrerInfo, { appId: plugin.appId, extraData: wx.log.returned })
    const returned = client.activationReturn({
      referrerInfo: { appId: plugin.appId, extraData: { activate_ticket: ticket, card_id: returnedCard, encrypt_code: encrypted } }
    })
    assert.deepEqual(returned, { activateTicket: ticket, cardId: cardId, encryptCode: encrypted })
    const activation = await client.activate(returned)
    assert.equal(activation.card_id, cardId)
    assert.ok(activation.membership_number)
    const again = await client.activate(returned) // a retry of the same ticket: the same answer
    assert.deepEqual(again, activation)

    const info = await client.memberCard(cardId)
    assert.equal(info.code, activation.code)
    assert.equal(info.has_active, true)
    assert.equal(typeof info.bonus, 'number')
    assert.equal(typeof info.balance, 'number')
    assert.equal(info.fields.mobile, FORM.USER_FORM_INFO_FLAG_MOBILE)
  })

  test('the session is kept in wx storage: a relaunch does not log in again', async () => {
    const { client, wx, user } = await miniProgramUser()
    await client.login()
    assert.equal(wx.getStorageSync('bff.token'), client.token)
    // the Mini Program is closed and launched again: a new client, the same storage
    const relaunched = wxStandIn(sandbox, user, { storage: wx.storage })
    const again = createClient({ baseUrl: bff.base, wx: relaunched })
    assert.equal(again.token, client.token)
    assert.deepEqual(await again.myCards(), [])
    assert.equal(relaunched.log.login, 0)
  })

  test('a kept session that has expired (401) logs in again once', async () => {
    const { wx, user } = await miniProgramUser()
    wx.setStorageSync('bff.token', 'expired-' + 'x'.repeat(35))
    const client = createClient({ baseUrl: bff.base, wx })
    assert.deepEqual(await client.myCards(), [])
    assert.equal(wx.log.login, 1)
    assert.notEqual(wx.getStorageSync('bff.token'), 'expired-' + 'x'.repeat(35))
    const relaunched = wxStandIn(sandbox, user, { storage: wx.storage })
    assert.equal((await createClient({ baseUrl: bff.base, wx: relaunched }).me()).miniprogram_openid, user.mp_openid)
    assert.equal(relaunched.log.login, 0)
  })

  test('H5, or a wx without storage: the token is kept in memory', async () => {
    assert.equal(createClient({ baseUrl: bff.base, wx: {} }).token, null)
    const bare = { request () {}, login () {} }
    const client = createClient({ baseUrl: bff.base, wx: bare })
    client.token = 't'
    assert.equal(client.token, 't')
  })

  test('wxStorage: a missing key is null, a failing storage loses only the token', () => {
    const kept = new Map()
    const store = wxStorage({
      getStorageSync: (k) => (kept.has(k) ? kept.get(k) : ''),
      setStorageSync: (k, v) => { if (v === 'full') throw new Error('setStorageSync:fail exceed storage max size'); kept.set(k, v) },
      removeStorageSync: (k) => { kept.delete(k) }
    })
    assert.equal(store.getItem('bff.token'), null)
    store.setItem('bff.token', 'abc')
    assert.equal(store.getItem('bff.token'), 'abc')
    store.setItem('other', 'full')
    assert.equal(store.getItem('other'), null)
    store.removeItem('bff.token')
    assert.equal(store.getItem('bff.token'), null)
    const broken = wxStorage({ getStorageSync () { throw new Error('no') }, setStorageSync () {}, removeStorageSync () {} })
    assert.equal(broken.getItem('bff.token'), null)
    const memory = memoryStorage()
    memory.setItem('k', 'v')
    assert.equal(memory.getItem('k'), 'v')
  })

  test('activate(activationReturn(...)) with nothing to activate resolves to null', async () => {
    const { client, wx } = await miniProgramUser()
    const calls = []
    client.transport = ((inner) => async (req) => { calls.push(req.url); return inner(req) })(client.transport)
    assert.equal(client.activationReturn({ scene: 1001 }), null) // a plain launch
    assert.equal(await client.activate(client.activationReturn({ scene: 1001 })), null)
    assert.equal(await client.activate(client.activationReturn({ referrerInfo: { appId: 'wxother', extraData: {} } })), null)
    assert.equal(await client.activate(null), null)
    assert.deepEqual(calls, [])
    assert.equal(wx.log.login, 0)
  })

  test('a revoked session logs in again once and the call goes through', async () => {
    const { client, wx } = await miniProgramUser()
    await client.login()
    const stolen = client.token
    const revoked = await fetch(`${bff.base}/v1/sessions/current`, {
      method: 'DELETE', headers: { authorization: `Bearer ${stolen}` }
    })
    assert.equal(revoked.status, 204)
    assert.deepEqual(await client.myCards(), [])
    assert.equal(wx.log.login, 2)
    assert.notEqual(client.token, stolen)
  })

  test('a second 401 in a row is the caller\'s, as a BffError', async () => {
    const { client, wx } = await miniProgramUser()
    client.transport = ((inner) => async (req) => {
      const res = await inner(req)
      return req.url.endsWith('/v1/me') ? { ...res, status: 401, data: { code: 401, status: 'Unauthorized', message: 'no' } } : res
    })(client.transport)
    const err = await client.me().catch((e) => e)
    assert.ok(err instanceof BffError)
    assert.equal(err.code, 401)
    assert.equal(wx.log.login, 2) // the first login, and exactly one more
  })

  test('errors carry the service\'s JSON error shape', async () => {
    const { client } = await miniProgramUser()
    const err = await client.decrypt('not-an-encrypt-code').catch((e) => e)
    assert.ok(err instanceof BffError, String(err))
    assert.ok(err.code >= 400 && err.code < 500)
    const shape = err.toJSON()
    assert.deepEqual(Object.keys(shape).slice(0, 3), ['code', 'status', 'message'])
    assert.equal(shape.code, err.code)
    assert.ok(err.message.length > 0)
  })

  test('503 with Retry-After on an idempotent call: waits as asked, then succeeds', async () => {
    const { client, waits, wx } = await miniProgramUser()
    const cardId = await sandbox.card({ card_type: 'GROUPON' })
    // WeChat answers "system busy" to every attempt the BFF makes once (its own 2 retries
    // included), when addCards decrypts the code wx.addCard handed back (a known encrypt_code
    // is answered without WeChat afterwards)
    await sandbox.fault('card/code/decrypt', { errcode: -1, count: 3 })
    const [added] = await client.addCards([cardId])
    assert.deepEqual(waits, [2000])
    const code = await client.decrypt(wx.held[0].encrypt_code, cardId)
    assert.equal(code.code, added.code)
  })

  test('a non-idempotent call is not retried after 503: the error says when to try again', async () => {
    const { client, waits, wx } = await miniProgramUser()
    // login spends a single-use wx.login code: WeChat is busy for every attempt the BFF makes
    await sandbox.fault('sns/jscode2session', { errcode: -1, count: 100 })
    const before = (await sandbox.calls())['sns/jscode2session'] || 0
    const err = await client.login().catch((e) => e)
    await sandbox.clearFaults()
    assert.ok(err instanceof BffError, String(err))
    assert.equal(err.code, 503)
    assert.equal(err.retryAfter, 2)
    assert.deepEqual(waits, [])
    assert.equal(wx.log.login, 1)
    const sent = ((await sandbox.calls())['sns/jscode2session'] || 0) - before
    assert.ok(sent >= 1 && sent <= 3, `one BFF request makes at most 3 upstream attempts, saw ${sent}`)
    // the caller decides: a new login (a new wx.login code) goes through
    assert.ok((await client.login()).token)
  })

  test('self-redemption after 503 is retried (the service redeems a code once) and stays one', async () => {
    const { client, waits } = await miniProgramUser()
    const cardId = await sandbox.card({ card_type: 'GROUPON' })
    await sandbox.profile(cardId, { self_redeem: true })
    const [added] = await client.addCards([cardId])
    await sandbox.fault('card/code/consume', { errcode: -1, count: 3 })
    const done = await client.redeem({ cardId, code: added.code })
    assert.equal(done.user_card_status, 'CONSUMED')
    assert.deepEqual(waits, [2000])
    const again = await client.redeem({ cardId, code: added.code }).catch((e) => e)
    assert.equal(again.code, 409) // another redemption of a redeemed code: when and how
    assert.match(again.message, /channel self/)
  })

  test('WeChat\'s push comes after wx.addCard: decrypt waits as Retry-After says, no error', async () => {
    const user = await sandbox.sim('users', { unionid: false }) // only the cardExt proof links it
    const wx = wxStandIn(sandbox, user, { form: FORM })
    const waits = []
    const sleep = (ms) => { waits.push(ms); return new Promise((resolve) => setTimeout(resolve, ms)) }
    const client = createClient({ baseUrl: bff.base, wx, sleep })
    await client.login()
    const cardId = await sandbox.card({ card_type: 'GROUPON' })
    await sandbox.config({ push_delay_ms: 1000, push_duplicate: true })
    try {
      const [added] = await client.addCards([cardId])
      assert.equal(added.card_id, cardId)
      assert.equal(added.user_card_status, 'NORMAL')
      assert.ok(waits.length >= 1 && waits.every((ms) => ms === 2000), JSON.stringify(waits))
      assert.deepEqual((await client.myCards()).map((c) => c.code), [added.code])
    } finally {
      await sandbox.config({ push_delay_ms: 0, push_duplicate: false })
    }
  })

  test('a Retry-After longer than maxRetryWait is not waited out', async () => {
    const { client, waits } = await miniProgramUser()
    await client.login()
    await sandbox.fault('card/membercard/activate/geturl', { errcode: 45011, count: 5 })
    const cardId = await sandbox.card({ card_type: 'MEMBER_CARD' })
    const err = await client.activationPlugin(cardId).catch((e) => e)
    await sandbox.clearFaults()
    assert.ok(err instanceof BffError, String(err))
    assert.equal(err.code, 429, JSON.stringify(err))
    assert.equal(err.retryAfter, 60)
    assert.equal(err.errcode, 45011)
    assert.deepEqual(waits, [])
  })
})

describe('in an H5 page (fetch + the JS-SDK)', () => {
  const PAGE = 'http://127.0.0.1/coupons?from=menu#top'

  async function h5User () {
    const user = await sandbox.user()
    const wx = wxStandIn(sandbox, user, { platform: 'h5', pageUrl: PAGE })
    const codes = [(await sandbox.sim('login-codes', { user: user.oa_openid, app: 'h5' })).code]
    const client = createClient({ baseUrl: bff.base, wx, h5Code: () => codes.shift() ?? null })
    return { user, wx, client }
  }

  test('web-authorization login, wx.config, addCard, chooseCard, self-redemption', async () => {
    const { client, user } = await h5User()
    assert.equal(client.platform, 'h5')
    const session = await client.login()
    assert.equal(session.openid, user.oa_openid)

    const config = await client.jssdkConfig(PAGE, ['addCard', 'chooseCard', 'openCard'])
    assert.equal(config.appId, 'wxsandbox0a000001')
    assert.deepEqual(config.jsApiList, ['addCard', 'chooseCard', 'openCard'])

    const cardId = await sandbox.card({ card_type: 'GROUPON' })
    await sandbox.profile(cardId, { self_redeem: true })
    const [added] = await client.addCards([cardId])
    const chosen = await client.chooseCard({ cardId })
    assert.deepEqual(chosen.map((c) => c.code), [added.code])

    const redeemed = await client.redeem({ cardId, code: added.code })
    assert.equal(redeemed.user_card_status, 'CONSUMED')
    const mine = await client.myCards()
    assert.equal(mine[0].user_card_status, 'CONSUMED')
  })

  test('a web-authorization code is exchanged once, never twice', async () => {
    const { client } = await h5User()
    await client.login()
    client.token = null
    const err = await client.login().catch((e) => e)
    assert.ok(err instanceof WxError)
  })

  test('wx.config signed for another page fails with WeChat\'s message', async () => {
    const { client } = await h5User()
    await client.login()
    const err = await client.jssdkConfig('http://127.0.0.1/another-page').catch((e) => e)
    assert.ok(err instanceof WxError, String(err))
    assert.equal(err.errMsg, 'config:invalid signature')
  })

  test('H5: cardFromUrl reads the card_id and encrypt_code WeChat appends to a card\'s link', async () => {
    const client = createClient({ baseUrl: bff.base, wx: {}, location: { href: 'https://h5.example/c?x=1&card_id=pc&encrypt_code=a+b%2Fc%3D%3D#top' } })
    assert.deepEqual(client.cardFromUrl(), { encryptCode: 'a+b/c==', cardId: 'pc' }) // decoded once; '+' is data
    assert.deepEqual(client.cardFromUrl('https://h5.example/c?encrypt_code=abc'), { encryptCode: 'abc' })
    assert.equal(client.cardFromUrl('https://h5.example/c?card_id=pc'), null)
  })

  test('H5: the activation return URL gives what activate() takes', async () => {
    const client = createClient({ baseUrl: bff.base, wx: {} })
    const back = 'https://h5.example/member?activate_ticket=fDZv9eMQ&card_id=pcard&encrypt_code=a%2Bb%3D'
    assert.deepEqual(client.activationReturn(back), { activateTicket: 'fDZv9eMQ', cardId: 'pcard', encryptCode: 'a+b=' })
    assert.equal(client.activationReturn('https://h5.example/member'), null)
    const raw = client.activationReturn('https://h5.example/m?activate_ticket=t&&card_id=c&encrypt_code=a+b%2Fc==#x')
    assert.equal(raw.encryptCode, 'a+b/c==') // decoded once; '+' is data
  })

  test('H5 login without a code or an appId says what is missing', async () => {
    const client = createClient({ baseUrl: bff.base, wx: {}, platform: 'h5', location: { href: 'http://127.0.0.1/p' } })
    const err = await client.login().catch((e) => e)
    assert.ok(err instanceof WxError)
    assert.match(err.errMsg, /appId/)
    const assigned = []
    const redirecting = createClient({
      baseUrl: bff.base, wx: {}, platform: 'h5', appId: 'wxsandbox0a000001',
      authorizeUrl: `${bff.base}/sandbox/connect/oauth2/authorize`,
      location: { href: 'http://127.0.0.1/p?x=1', assign: (url) => assigned.push(url) }
    })
    await redirecting.login().catch((e) => e)
    assert.equal(assigned.length, 1)
    assert.ok(assigned[0].startsWith(`${bff.base}/sandbox/connect/oauth2/authorize?appid=wxsandbox0a000001&redirect_uri=`))
  })

  test('the authorize URL comes back to the page without its old code', async () => {
    const client = createClient({ baseUrl: bff.base, wx: {}, appId: 'wxsandbox0a000001', authorizeUrl: `${bff.base}/sandbox/connect/oauth2/authorize` })
    const url = new URL(client.authorizeUrl('http://127.0.0.1/page?x=1&code=old&state=s'))
    assert.equal(url.searchParams.get('appid'), 'wxsandbox0a000001')
    assert.equal(url.searchParams.get('redirect_uri'), 'http://127.0.0.1/page?x=1')
    assert.equal(url.searchParams.get('response_type'), 'code')
    assert.equal(url.hash, '#wechat_redirect')
  })
})

describe('capabilities and the counter', () => {
  test('capabilities from a User-Agent', async () => {
    const client = createClient({ baseUrl: bff.base, wx: {}, userAgent: IPHONE_UA })
    const caps = await client.capabilities()
    assert.equal(caps.weixin_version, '6.5.9')
    assert.equal(caps.cards, true)
    assert.equal(caps.activation_plugin, true)
    const old = await client.capabilities({ userAgent: IPHONE_UA.replace('6.5.9', '6.5.8') })
    assert.equal(old.activation_plugin, false)
  })

  test('staff query a code, redeem it once; a retry gets the first answer, a second redemption a 409', async () => {
    const { client } = await miniProgramUser()
    const cardId = await sandbox.card({ card_type: 'GROUPON' })
    const [added] = await client.addCards([cardId])
    const staff = createStaffClient({ baseUrl: bff.base, adminToken: ADMIN_TOKEN, fetch: globalThis.fetch })
    const info = await staff.queryCode({ cardId, code: added.code })
    assert.equal(info.can_consume, true)
    const done = await staff.redeemCode({ cardId, code: added.code, staffId: 'till-1', idempotencyKey: 'till-1-0001' })
    assert.equal(done.code, added.code)
    const retried = await staff.redeemCode({ cardId, code: added.code, staffId: 'till-1', idempotencyKey: 'till-1-0001' })
    assert.equal(retried.redeemed_at, done.redeemed_at) // the same call (same body) repeated: its first answer
    const twice = await staff.redeemCode({ cardId, code: added.code }).catch((e) => e)
    assert.equal(twice.code, 409) // a second redemption says when, where and how
    assert.match(twice.message, /till-1/)
    const refused = await createStaffClient({ baseUrl: bff.base, adminToken: 'wrong' })
      .queryCode({ cardId, code: added.code }).catch((e) => e)
    assert.equal(refused.code, 401)
  })
})
