// The README's code samples run as written against a real `bff dev`: each ```js block is named
// (```js sample=NAME), and each name is run here, with the service's URL and the card ids swapped
// for the test server's. Mini Program samples get App/Page/getApp as WeChat provides them; H5
// samples a page URL and the JS-SDK stand-in.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'

import { Sandbox, startBff, wxStandIn } from 'bff-client/testing'

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const COUPON = 'pFS7Fjg8kV1IdDz01r4SQwMkuCKc' // the card ids the samples name
const MEMBER_CARD = 'pFS7Fjg8kV1IdDz01r4SQwMkuCKm'
const FORM = { USER_FORM_INFO_FLAG_NAME: '李小龙', USER_FORM_INFO_FLAG_MOBILE: '13912345678' }
const PAGE = 'http://127.0.0.1/coupons' // a host the sandbox's BFF_JSSDK_HOSTS allows

const blocks = [...README.matchAll(/^```js([^\n]*)\n([\s\S]*?)^```$/gm)]
  .map(([, info, code]) => ({ name: /\bsample=(\S+)/.exec(info)?.[1], code }))
const samples = Object.fromEntries(blocks.map((b) => [b.name, b.code]))

const dir = mkdtempSync(join(tmpdir(), 'bff-readme-'))
const fileUrl = (name) => pathToFileURL(fileURLToPath(new URL(`../${name}`, import.meta.url))).href
let bff, sandbox, cards, wxMp, output

/** The sample as a module file, its imports of bff-client pointed at this folder. */
function write (name, { cardIds = cards } = {}) {
  assert.ok(samples[name], `no sample=${name} in the README`)
  const code = samples[name]
    .replaceAll("'bff-client/testing'", `'${fileUrl('testing.js')}'`)
    .replaceAll("'bff-client'", `'${fileUrl('index.js')}'`)
    .replaceAll('https://api.example.com', bff.base)
    .replaceAll(COUPON, cardIds.coupon)
    .replaceAll(MEMBER_CARD, cardIds.member)
  const file = join(dir, `${name}-${Math.random().toString(36).slice(2)}.mjs`)
  writeFileSync(file, code)
  return file
}

/** Run the sample (as an ES module), keeping what it logs in `output`. */
async function run (name, options) {
  const file = write(name, options)
  output = []
  const log = console.log
  console.log = (...args) => { output.push(args) }
  try {
    await import(pathToFileURL(file).href)
  } finally {
    console.log = log
  }
  return file
}

// WeChat's globals in a Mini Program: App() registers the app object, Page() a page, getApp().
let app
const pages = []
function miniProgramGlobals () {
  globalThis.App = (definition) => { app = definition }
  globalThis.getApp = () => app
  globalThis.Page = (definition) => {
    const page = Object.assign(Object.create(definition), { data: structuredClone(definition.data ?? {}) })
    page.setData = (patch) => { Object.assign(page.data, patch) }
    pages.push(page)
  }
}

/** An H5 page inside WeChat, come back from web authorization: location, history, the JS-SDK. */
async function h5Page (user, query = {}) {
  const { code } = await sandbox.sim('login-codes', { user: user.oa_openid, app: 'h5' })
  const url = new URL(PAGE)
  for (const [k, v] of Object.entries({ ...query, code, state: 'bff' })) url.searchParams.set(k, v)
  globalThis.location = { href: url.href, assign () { throw new Error('no redirect expected') } }
  globalThis.history = { state: null, replaceState (state, title, next) { globalThis.location.href = next } }
  globalThis.wx = wxStandIn(sandbox, user, { platform: 'h5', pageUrl: PAGE })
  return globalThis.wx
}

before(async () => {
  bff = await startBff()
  sandbox = new Sandbox(bff.base)
  cards = {
    coupon: await sandbox.card({ card_type: 'GROUPON' }),
    member: await sandbox.card({ card_type: 'MEMBER_CARD' })
  }
  await sandbox.profile(cards.coupon, { self_redeem: true })
  wxMp = wxStandIn(sandbox, await sandbox.user(), { form: FORM })
  miniProgramGlobals()
})
after(async () => {
  await bff?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('every ```js block of the README is a named sample that runs here', () => {
  assert.ok(blocks.length >= 10)
  for (const b of blocks) assert.ok(b.name, `a js block without sample=NAME:\n${b.code.slice(0, 200)}`)
  assert.equal(new Set(blocks.map((b) => b.name)).size, blocks.length, 'sample names are unique')
  const here = readFileSync(fileURLToPath(import.meta.url), 'utf8')
  const run = new Set([...here.matchAll(/\b(?:run|write)\('([\w-]+)'/g)].map((m) => m[1]))
  assert.deepEqual([...run].sort(), blocks.map((b) => b.name).sort())
})

describe('in a Mini Program', () => {
  before(() => { globalThis.wx = wxMp })

  test('mp-app: one client; a plain show has nothing to activate', async () => {
    await run('mp-app')
    app.onLaunch()
    assert.equal(app.bff.platform, 'miniprogram')
    app.onShow({ scene: 1001, path: 'pages/coupon/coupon', query: {} })
    assert.equal(await app.activating, null)
  })

  test('mp-coupon: take the coupon, my cards, open them', async () => {
    await run('mp-coupon')
    const page = pages.at(-1)
    await page.take()
    assert.match(page.data.code, /^\d{12}$/)
    await page.onShow()
    assert.deepEqual(page.data.mine.map((c) => [c.card_id, c.code]), [[cards.coupon, page.data.code]])
    await page.open()
    assert.deepEqual(wxMp.log.openCard.at(-1), [{ cardId: cards.coupon, code: page.data.code }])
  })

  test('mp-member: the plug-in, App.onShow activates, the page shows the membership number', async () => {
    await run('mp-member')
    const page = pages.at(-1)
    await page.join()
    assert.ok(wxMp.log.returnOptions, 'the plug-in handed data back')
    app.onShow(wxMp.log.returnOptions) // WeChat: App.onShow first, then the page's
    await page.onShow()
    assert.ok(page.data.member.membership_number)
    assert.equal(page.data.member.has_active, true)
    assert.equal(page.data.member.fields.mobile, FORM.USER_FORM_INFO_FLAG_MOBILE)
    assert.equal(wxMp.log.login, 1) // one login for all of it
  })

  test('errors: a 422 names the field', async () => {
    await run('errors')
    const [[code, message, requestId]] = output
    assert.equal(code, 422)
    assert.match(message, /^cards\[0\]\.card_id: not a card_id/)
    assert.ok(requestId)
  })

  test('retries: add-card is not retried after a 503; the error says when to try again', async () => {
    await run('retries')
    assert.match(output[0].join(' '), /^taken \d{12}$/)
    const fresh = { ...cards, coupon: await sandbox.card({ card_type: 'GROUPON' }) }
    await sandbox.fault('card/get', { errcode: -1, count: 100 }) // WeChat busy: the review check fails
    try {
      await run('retries', { cardIds: fresh })
    } finally {
      await sandbox.clearFaults()
    }
    assert.deepEqual(output, [['WeChat is busy: try again in 2 s']])
  })

  test('redeem: one Idempotency-Key, retried through a 503, one redemption', async () => {
    await sandbox.fault('card/code/consume', { errcode: -1, count: 3 }) // one 503, then through
    try {
      await run('redeem')
    } finally {
      await sandbox.clearFaults()
    }
    assert.deepEqual(output, [['CONSUMED', true]])
  })

  test('transport: a wrapped wx.request transport', async () => {
    await run('transport')
    assert.equal(output.length, 1) // the session kept in wx storage: no login
    const [method, path, status, requestId] = output[0]
    assert.deepEqual([method, path, status], ['GET', '/v1/cards/mine', 200])
    assert.ok(requestId)
  })

  test('storage: the session kept in wx storage', async () => {
    await run('storage')
    assert.deepEqual(output, [[true, true]])
  })
})

describe('in an H5 page', () => {
  let wxBefore
  before(() => { wxBefore = globalThis.wx })
  after(() => {
    globalThis.wx = wxBefore
    delete globalThis.location
    delete globalThis.history
  })

  test('h5: web-authorization login, wx.config, addCard, chooseCard', async () => {
    await h5Page(await sandbox.user())
    await run('h5')
    assert.equal(output.length, 1)
    const [[codes]] = output
    assert.equal(codes.length, 1)
    assert.match(codes[0], /^\d{12}$/)
    assert.ok(!globalThis.location.href.includes('code='), 'the code is removed from the address bar')
  })

  test('h5-card-link: the encrypt_code WeChat appended to a card\'s link, decrypted', async () => {
    const user = await sandbox.user()
    const wx = await h5Page(user)
    await run('h5') // this user takes a coupon: WeChat hands back its encrypt_code
    const [taken] = wx.held
    const [[[code]]] = output
    // later the user opens the card's link: WeChat appended card_id and encrypt_code, and the
    // page came back from web authorization with a new ?code=
    await h5Page(user, { card_id: taken.card_id, encrypt_code: taken.encrypt_code })
    await run('h5-card-link')
    assert.deepEqual(output, [[code, 'NORMAL', true]])
  })
})

test('testing: the bff-client/testing sample passes as a node test', async () => {
  const file = write('testing')
  const { NODE_TEST_CONTEXT, ...env } = process.env // a run of its own, not a child of this one
  const done = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { encoding: 'utf8', env, timeout: 120000 })
  assert.equal(done.status, 0, done.stdout + done.stderr)
  assert.match(done.stdout, /^# pass 1$/m)
})
