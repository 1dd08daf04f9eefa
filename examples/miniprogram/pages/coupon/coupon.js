// The coupon centre: "Take the coupon" → add-card signs the cardExt → wx.addCard → the code it
// returns is decrypted → the page shows it. (Built with Component(), which WeChat allows for pages:
// the page's on* lifecycle methods are in methods.)
import config from '../../config.js'

Component({
  data: { taking: false, code: '', error: '' },

  methods: {
    async onLoad () {
      // a coupon taken on an earlier visit
      try {
        const held = (await getApp().bff.myCards()).find((c) => c.card_id === config.couponCardId)
        if (held) this.setData({ code: held.code })
      } catch (e) {
        this.setData({ error: e.message })
      }
    },

    async take () {
      this.setData({ taking: true, error: '' })
      try {
        const [card] = await getApp().bff.addCards([config.couponCardId], { outerStr: 'mp-coupon-page' })
        this.setData({ code: card.code })
      } catch (e) {
        // WxError with cancelled: the user closed WeChat's sheet; BffError: the service's message
        if (!e.cancelled) this.setData({ error: e.message })
      } finally {
        this.setData({ taking: false })
      }
    },

    open () {
      return getApp().bff.openCards([{ cardId: config.couponCardId, code: this.data.code }])
    }
  }
})
