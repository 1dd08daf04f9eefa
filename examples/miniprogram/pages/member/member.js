// The member card: "Become a member" opens WeChat's activation plug-in (wx.navigateToMiniProgram);
// the user fills in its form and comes back; App.onShow activates with what the plug-in returned;
// this page's onShow (called after App.onShow) waits for that and shows the membership number.
import config from '../../config.js'

const NOT_A_MEMBER = 404 // GET /v1/membership/cards/{card_id}: the user holds no such card yet

Component({
  data: { member: null, balance: '', loaded: false, joining: false, error: '' },

  methods: {
    async onShow () {
      const app = getApp()
      await app.activating // null unless this show is the return from the plug-in
      if (app.activationError) this.setData({ error: app.activationError.message })
      try {
        const member = await app.bff.memberCard(config.memberCardId)
        this.setData({ member: member.has_active ? member : null, balance: (member.balance / 100).toFixed(2) })
      } catch (e) {
        if (e.code !== NOT_A_MEMBER) this.setData({ error: e.message })
      }
      this.setData({ loaded: true, joining: false })
    },

    async join () {
      this.setData({ joining: true, error: '' })
      try {
        await getApp().bff.openActivationPlugin(config.memberCardId) // back in App.onShow, then onShow
      } catch (e) {
        this.setData({ joining: false, error: e.cancelled ? '' : e.message })
      }
    }
  }
})
