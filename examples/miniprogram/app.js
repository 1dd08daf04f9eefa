// The app: one bff client for every page, and the activation plug-in's return in onShow.
import { createClient } from './lib/bff-client/index.js'
import config from './config.js'

App({
  onLaunch () {
    // wx.request, wx.login and the session kept in wx storage: a launch while the session lives
    // does not log in again
    this.bff = createClient({ baseUrl: config.baseUrl })
    this.activating = Promise.resolve(null)
  },

  onShow (options) {
    // Back from the member-card activation plug-in, options.referrerInfo.extraData carries the
    // activate_ticket; any other show carries nothing to activate and activate() resolves to null.
    // Pages await app.activating in their own onShow (WeChat calls App.onShow first).
    this.activationError = null
    this.activating = this.bff.activate(this.bff.activationReturn(options)).catch((e) => {
      this.activationError = e
      return null
    })
  }
})
