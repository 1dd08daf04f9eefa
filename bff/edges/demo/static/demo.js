// What every demo page shares: the client, H5 login through web authorization, wx.config.
// Built only on the bff JS client and the official JS-SDK (window.wx, over the sandbox bridge).
import { createClient } from '/demo/client/index.js'

export const $ = (selector) => document.querySelector(selector)

/** A status line: ok (green) or error (red), in the page for a person to read. */
export function say (text, kind = 'ok') {
  const box = $('#status')
  box.className = 'status ' + kind
  box.textContent = text
}

/** The message a person should see for a failure: WeChat's errMsg or the service's message. */
export function reason (e) {
  if (e && e.errMsg) return e.errMsg
  if (e && e.name === 'BffError') return `${e.code} ${e.status}: ${e.message}`
  return String(e && e.message ? e.message : e)
}

/** A button's action: the button is disabled while it runs, a failure goes to the status line. */
export function onPress (button, action) {
  button.onclick = async () => {
    button.disabled = true
    try {
      await action()
    } catch (e) {
      say(reason(e), 'error')
    } finally {
      button.disabled = false
    }
  }
}

export async function demoConfig () {
  const res = await fetch('/demo/config.json')
  return res.json()
}

/** Log in (redirects to web authorization once), then wx.config for this page. */
export async function start ({ jsApiList = ['addCard', 'openCard', 'chooseCard'] } = {}) {
  const config = await demoConfig()
  if (!config.jssdk) {
    say('The official JS-SDK is not installed: run npm ci at the repository root', 'error')
    throw new Error('weixin-js-sdk missing')
  }
  const bff = createClient({
    baseUrl: location.origin,
    platform: 'h5',
    wx: window.wx,
    appId: config.appId,
    authorizeUrl: location.origin + '/sandbox/connect/oauth2/authorize',
    storage: window.localStorage
  })
  if (!bff.token && !new URL(location.href).searchParams.get('code')) {
    location.assign(bff.authorizeUrl()) // WeChat's web authorization comes back with ?code=
    return new Promise(() => {})
  }
  const session = bff.token ? null : await bff.login()
  const me = await bff.me()
  $('#who').textContent = 'WeChat user ' + (me.official_account_openid || session?.openid || '')
  try {
    await bff.jssdkConfig(undefined, jsApiList)
  } catch (e) {
    say(reason(e), 'error') // e.g. config:invalid signature
    throw e
  }
  return { bff, config }
}

export function cardName (config, cardId) {
  if (cardId === config.cards.coupon) return '¥10 off any order'
  if (cardId === config.cards.member) return 'Demo member card'
  return cardId
}
