// bff-client/testing: for Node tests of pages built on the client (and the client's own tests).
// A real `bff dev` on a free port, the simulator, and `wx` stand-ins whose card APIs go to the
// sandbox's simulator (so WeChat's checks of cardExt and cardSign really run).
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..') // when in this repository
export const ADMIN_TOKEN = 'sandbox-admin-token' // bff.ground.config.SANDBOX_ADMIN_TOKEN

function bffCommand () {
  if (process.env.BFF_BIN) return process.env.BFF_BIN
  const local = join(REPO, '.venv', 'bin', 'bff')
  return existsSync(local) ? local : 'bff'
}

export function freePort () {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Start `bff dev` on a free port; resolves when /healthz answers. Call stop() when done.
 * The command: `command`, else $BFF_BIN, else the repository's .venv/bin/bff, else `bff` on the PATH.
 * With $BFF_URL set (a `bff dev` you already run, e.g. http://127.0.0.1:8000), nothing is
 * started: that service is used, and stop() leaves it running.
 */
export async function startBff (env = {}, { command, cwd } = {}) {
  if (process.env.BFF_URL && !command) {
    const base = process.env.BFF_URL.replace(/\/+$/, '')
    if (!(await fetch(`${base}/healthz`)).ok) throw new Error(`BFF_URL ${base} does not answer /healthz`)
    return { base, port: Number(new URL(base).port), stop: async () => {}, output: () => '' }
  }
  const port = await freePort()
  const bin = command ?? bffCommand()
  const child = spawn(bin, ['dev', '--port', String(port)], {
    cwd: cwd ?? (existsSync(join(REPO, 'pyproject.toml')) ? REPO : process.cwd()),
    env: { ...process.env, BFF_LOG_LEVEL: 'WARNING', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true // its own process group: stop() ends it and the redis-server it started
  })
  let output = ''
  child.stdout.on('data', (d) => { output += d })
  child.stderr.on('data', (d) => { output += d })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bff dev exited ${child.exitCode}:\n${output}`)
    try {
      if ((await fetch(`${base}/healthz`)).ok) break
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`bff dev did not start in 60 s:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', resolve)
    try { process.kill(-child.pid, 'SIGTERM') } catch { resolve() }
  })
  return { base, port, stop, output: () => output }
}

/** The simulator and the operator endpoints, for setting up a story. */
export class Sandbox {
  constructor (base) { this.base = base }

  async post (path, body = {}, headers = {}) {
    const res = await fetch(this.base + path, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body)
    })
    const data = await res.json()
    if (!res.ok) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(data)}`)
    return data
  }

  sim (path, body) { return this.post(`/sandbox/_sim/${path}`, body) }
  user () { return this.sim('users', { unionid: true }) }
  card (body) { return this.sim('cards', body).then((c) => c.card_id) }
  fault (path, fault) { return this.sim('faults', { path, ...fault }) }
  clearFaults () { return fetch(`${this.base}/sandbox/_sim/faults`, { method: 'DELETE' }) }
  /** PUT /_sim/config: push timing (push_delay_ms, push_drop, ...), latency, event URL. */
  async config (settings) {
    const res = await fetch(`${this.base}/sandbox/_sim/config`, {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings)
    })
    if (!res.ok) throw new Error(`config answered ${res.status}`)
    return res.json()
  }

  async calls () { return (await fetch(`${this.base}/sandbox/_sim/calls`)).json() }
  async tickets () { return (await fetch(`${this.base}/sandbox/_sim/tickets`)).json() }

  async profile (cardId, profile) {
    const res = await fetch(`${this.base}/v1/admin/cards/${cardId}/profile`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(profile)
    })
    if (!res.ok) throw new Error(`profile answered ${res.status}`)
  }
}

const sha1 = (text) => createHash('sha1').update(text, 'utf8').digest('hex')
const sortedSha1 = (...values) => sha1(values.map(String).sort().join(''))

function tampered (cardExt) {
  const ext = JSON.parse(cardExt)
  ext.signature = (ext.signature[0] === '0' ? '1' : '0') + ext.signature.slice(1)
  return JSON.stringify(ext)
}

/** WeChat's `wx` as the user `user` sees it: Mini Program (`request`, `login`) or JS-SDK (`config`). */
export const SANDBOX_APPID = 'wxsandbox0a000001' // bff.ground.config.SANDBOX_APPID

/**
 * Options: platform ('miniprogram' | 'h5'); form (the activation form's answers, WeChat's field
 * names); pageUrl (H5: the page wx.config is checked against); tamper (spoil each cardExt's
 * signature); storage (a Map behind wx.get/set/removeStorageSync: pass the same Map to a second
 * stand-in to play a relaunch of the Mini Program).
 */
export function wxStandIn (sandbox, user, { platform = 'miniprogram', tamper = false, form, pageUrl, storage = new Map() } = {}) {
  const log = { login: 0, openCard: [], navigate: [], returned: null, returnOptions: null, config: null }
  const held = [] // {card_id, encrypt_code} of the cards this user took here, for chooseCard
  const wx = { log, held, storage }
  const answer = (api, params, work) => {
    work().then(
      (res) => params.success && params.success({ errMsg: `${api}:ok`, ...res }),
      (e) => params.fail && params.fail({ errMsg: `${api}:fail ${e.message}` }))
  }

  wx.addCard = (params) => answer('addCard', params, async () => {
    const cardList = params.cardList.map((c) => ({
      cardId: c.cardId, cardExt: tamper ? tampered(c.cardExt) : c.cardExt
    }))
    const res = await sandbox.sim('add-card', { user: user.mp_openid, card_list: cardList })
    for (const c of res.card_list) if (c.isSuccess) held.push({ card_id: c.cardId, encrypt_code: c.code })
    return { cardList: res.card_list.map((c) => ({ cardId: c.cardId, cardExt: c.cardExt, code: c.code, isSuccess: c.isSuccess })) }
  })

  wx.openCard = (params) => answer('openCard', params, async () => { log.openCard.push(params.cardList) })

  if (platform === 'miniprogram') {
    wx.request = (params) => {
      fetch(params.url, { method: params.method, headers: params.header, body: params.data })
        .then(async (res) => params.success({
          statusCode: res.status, header: Object.fromEntries(res.headers), data: await res.text(), errMsg: 'request:ok'
        }), (e) => params.fail({ errMsg: `request:fail ${e.message}` }))
    }
    wx.getStorageSync = (key) => (storage.has(key) ? storage.get(key) : '')
    wx.setStorageSync = (key, value) => { storage.set(key, value) }
    wx.removeStorageSync = (key) => { storage.delete(key) }
    wx.login = (params) => answer('login', params, async () => {
      log.login++
      return { code: (await sandbox.sim('login-codes', { user: user.mp_openid, app: 'miniprogram' })).code }
    })
    // the activation plug-in: the user fills in WeChat's form; its return data lands in log.returned,
    // and log.returnOptions is what App.onShow(options) gets when the user comes back (scene 1038)
    wx.navigateToMiniProgram = (params) => answer('navigateToMiniProgram', params, async () => {
      log.navigate.push({ appId: params.appId, extraData: params.extraData })
      const { encrypt_card_id: encryptCardId, biz, outer_str: outerStr } = params.extraData
      log.returned = await sandbox.sim('activation-form', {
        user: user.oa_openid, encrypt_card_id: encryptCardId, biz, outer_str: outerStr, fields: form || {}
      })
      log.returnOptions = { scene: 1038, referrerInfo: { appId: params.appId, extraData: log.returned } }
    })
  } else {
    // the JS-SDK: wx.config is checked as WeChat does (jsapi_ticket, url, appId, timestamp, nonce)
    const ready = []
    const errors = []
    wx.ready = (fn) => ready.push(fn)
    wx.error = (fn) => errors.push(fn)
    wx.config = async (config) => {
      log.config = config
      const { jsapi } = await sandbox.tickets()
      const url = pageUrl.split('#')[0]
      const expected = sha1(`jsapi_ticket=${jsapi}&noncestr=${config.nonceStr}&timestamp=${config.timestamp}&url=${url}`)
      if (config.appId !== SANDBOX_APPID) errors.forEach((fn) => fn({ errMsg: 'config:invalid appId' }))
      else if (config.signature === expected) ready.forEach((fn) => fn())
      else errors.forEach((fn) => fn({ errMsg: 'config:invalid signature' }))
    }
    wx.chooseCard = (params) => answer('chooseCard', params, async () => {
      const { wx_card: ticket } = await sandbox.tickets()
      const expected = sortedSha1(ticket, SANDBOX_APPID, params.shopId, params.timestamp, params.nonceStr,
        params.cardId, params.cardType)
      if (params.cardSign !== expected) throw new Error('invalid signature')
      const mine = held.filter((c) => !params.cardId || c.card_id === params.cardId)
      return { cardList: JSON.stringify(mine) }
    })
  }
  return wx
}
