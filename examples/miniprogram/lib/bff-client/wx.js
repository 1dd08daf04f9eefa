// WeChat's client APIs (Mini Program `wx` and the JS-SDK `wx`) as promises.
import { WxError } from './errors.js'

/** Call wx[api](params) and resolve with its success result; reject with WxError on fail/cancel. */
export function callWx (wx, api, params = {}) {
  return new Promise((resolve, reject) => {
    if (!wx || typeof wx[api] !== 'function') {
      reject(new WxError(api, { errMsg: `${api}:fail not supported here` }))
      return
    }
    wx[api]({
      ...params,
      success: (res) => resolve(res || {}),
      fail: (res) => reject(new WxError(api, res)),
      cancel: (res) => reject(new WxError(api, { errMsg: `${api}:cancel`, ...(res || {}) }))
    })
  })
}

/** wx.config, settled by wx.ready or wx.error (the JS-SDK reports the outcome only there). */
export function configWx (wx, config) {
  return new Promise((resolve, reject) => {
    if (!wx || typeof wx.config !== 'function') {
      reject(new WxError('config', { errMsg: 'config:fail the JS-SDK is not loaded' }))
      return
    }
    wx.ready(() => resolve(config))
    wx.error((res) => reject(new WxError('config', res)))
    wx.config(config)
  })
}

/** chooseCard's cardList: the JS-SDK hands a JSON string of [{card_id, encrypt_code}]. */
export function chosenCards (res) {
  const list = typeof res.cardList === 'string' ? JSON.parse(res.cardList || '[]') : (res.cardList || [])
  return list.map((c) => ({ card_id: c.card_id || c.cardId, encrypt_code: c.encrypt_code || c.code }))
}
