// The example's pages in Node: WeChat's own component test tool (miniprogram-simulate, with its
// official WXML compiler) renders them in jsdom; `wx` is bff-client/testing's stand-in, whose
// wx.login, wx.addCard and activation plug-in are played by the sandbox of a real `bff dev`.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { JSDOM } from 'jsdom'

import { Sandbox, startBff, wxStandIn } from '../../../clients/js/testing.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const FORM = { USER_FORM_INFO_FLAG_NAME: '李小龙', USER_FORM_INFO_FLAG_MOBILE: '13912345678' }

// the DOM miniprogram-simulate renders into (it is written for jest's jsdom environment)
const { window } = new JSDOM('<!doctype html><html><body></body></html>')
globalThis.window = window
for (const name of ['document', 'Node', 'Element', 'HTMLElement', 'Event', 'CustomEvent']) globalThis[name] = window[name]
const simulate = createRequire(import.meta.url)('miniprogram-simulate') // installs its wx mocks

let bff, sandbox, wx, app, config

// What WeChat does before a page runs: App() registers the app, getApp() finds it, onLaunch, onShow.
before(async () => {
  bff = await startBff()
  sandbox = new Sandbox(bff.base)
  const user = await sandbox.user()
  wx = Object.assign(globalThis.wx, wxStandIn(sandbox, user, { form: FORM }))
  config = (await import('../config.js')).default
  Object.assign(config, {
    baseUrl: bff.base,
    couponCardId: await sandbox.card({ card_type: 'GROUPON' }),
    memberCardId: await sandbox.card({ card_type: 'MEMBER_CARD' })
  })
  globalThis.App = (definition) => { app = definition }
  globalThis.getApp = () => app
  await import('../app.js')
  app.onLaunch()
  app.onShow({ scene: 1001, path: 'pages/coupon/coupon', query: {} })
})
after(async () => { await bff?.stop() })

function openPage (path) {
  const id = simulate.load(join(ROOT, path), { rootPath: ROOT }) // compiler: 'official' (WeChat's wcc)
  const page = simulate.render(id)
  page.attach(document.createElement('parent-wrapper'))
  return page
}

async function until (what, check, ms = 20000) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = check()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await simulate.sleep(20)
  }
}

const text = (page, selector) => page.querySelector(selector)?.dom.textContent.trim()

test('coupon page: "Take the coupon" shows the code the user now holds', async () => {
  const page = openPage('pages/coupon/coupon')
  await page.instance.onLoad({})
  assert.equal(page.querySelector('#code'), undefined) // nothing taken yet
  page.querySelector('#take').dispatchEvent('tap')
  const code = await until('the code', () => text(page, '#code'))
  assert.match(code, /^\d{12}$/)
  assert.equal(page.querySelector('#error'), undefined)
  const mine = await app.bff.myCards()
  assert.deepEqual(mine.map((c) => [c.card_id, c.code, c.user_card_status]), [[config.couponCardId, code, 'NORMAL']])

  page.querySelector('#open').dispatchEvent('tap')
  await until('wx.openCard', () => wx.log.openCard.length)
  assert.deepEqual(wx.log.openCard, [[{ cardId: config.couponCardId, code }]])
})

test('member page: the plug-in\'s form, App.onShow activates, the page shows the membership number', async () => {
  const page = openPage('pages/member/member')
  await page.instance.onShow()
  assert.ok(page.querySelector('#join'), 'not a member yet: the page offers to join')
  assert.equal(page.querySelector('#number'), undefined)

  page.querySelector('#join').dispatchEvent('tap')
  const back = await until('the return from the plug-in', () => wx.log.returnOptions)
  assert.equal(wx.log.navigate[0].appId, back.referrerInfo.appId)
  // WeChat shows the Mini Program again: App.onShow with the plug-in's return data, then the page's
  app.onShow(back)
  await page.instance.onShow()
  const number = text(page, '#number')
  assert.ok(number, page.dom.innerHTML)
  assert.equal(page.querySelector('#error'), undefined)
  const member = await app.bff.memberCard(config.memberCardId)
  assert.equal(number, member.membership_number)
  assert.equal(text(page, '#bonus'), String(member.bonus))
  assert.equal(text(page, '#balance'), (member.balance / 100).toFixed(2))
  assert.equal(member.fields.mobile, FORM.USER_FORM_INFO_FLAG_MOBILE)

  // a later show (no return data) activates nothing and keeps the number
  app.onShow({ scene: 1001 })
  assert.equal(await app.activating, null)
  await page.instance.onShow()
  assert.equal(text(page, '#number'), number)
})

test('one login for the whole visit: the session is kept in wx storage', () => {
  assert.equal(wx.log.login, 1)
  assert.equal(wx.getStorageSync('bff.token'), app.bff.token)
})

test('the client in lib/bff-client is a verbatim copy of clients/js (node clients/js/scripts/copy-client.mjs)', async () => {
  const { CLIENT_DIR, RUNTIME_FILES } = await import('../../../clients/js/scripts/copy-client.mjs')
  for (const name of RUNTIME_FILES) {
    assert.equal(readFileSync(join(ROOT, 'lib', 'bff-client', name), 'utf8'), readFileSync(join(CLIENT_DIR, name), 'utf8'),
      `lib/bff-client/${name} differs from clients/js/${name}: run node clients/js/scripts/copy-client.mjs`)
  }
})
