// Compiled (never run) by the type check: how a page uses the client, checked against index.d.ts.
import { BffError, createClient, wxStorage, type Activation, type Code, type Operations } from '../index.js'
import { createStaffClient } from '../staff.js'
import { Sandbox, startBff, wxStandIn } from '../testing.js'

export async function page (): Promise<void> {
  const bff = createClient({ baseUrl: 'https://api.example.com', maxRetries: 1 })
  const session = await bff.login()
  const token: string = session.token
  const added: Code[] = await bff.addCards(['pcard'], { outerStr: 'poster' })
  const first: string = added[0].code
  const mine = await bff.myCards()
  const at: number = mine[0].received_at
  await bff.openCards(mine)
  const plugin = await bff.activationPlugin('pcard')
  const biz: string = plugin.extraData.biz
  const returned = bff.activationReturn({ referrerInfo: { extraData: { activate_ticket: 't', card_id: 'c' } } })
  if (returned) await bff.activate(returned)
  const maybe: Activation | null = await bff.activate(returned) // null: nothing to activate
  // @ts-expect-error activate(null) may resolve to null
  const sure: Activation = await bff.activate(returned)
  const member = await bff.activate({ activateTicket: 't', cardId: 'pcard', encryptCode: 'e' })
  const info = await bff.memberCard(member.card_id)
  const total: number = info.bonus + info.balance
  const link = bff.cardFromUrl('https://h5.example.com/card?card_id=p1&encrypt_code=a%2Bb')
  if (link) await bff.decrypt(link.encryptCode, link.cardId)
  const config = await bff.jssdkConfig(undefined, ['addCard'])
  const signature: string = config.signature
  const chosen = await bff.chooseCard({ cardType: 'GROUPON' })
  const redeemed = await bff.redeem({ cardId: 'pcard', code: chosen[0].code })
  const linked = await bff.cardFromLink()
  if (linked) console.log(linked.code, linked.outer_str)
  const parsed = bff.cardLink({ encrypt_code: 'e', card_id: 'pcard' })
  if (parsed) console.log(parsed.encryptCode, parsed.outerStr)
  const caps = await bff.capabilities({ userAgent: 'MicroMessenger/8.0.0' })
  const plug: boolean = caps.activation_plugin
  const body: Operations['POST /v1/cards/add-card']['body'] = { cards: [{ card_id: 'pcard' }] }
  const staff = createStaffClient({ baseUrl: 'https://api.example.com', adminToken: 'x' })
  const done = await staff.redeemCode({ cardId: 'pcard', code: first, staffId: 'till-1' })
  try {
    await bff.me()
  } catch (e) {
    if (e instanceof BffError) console.log(e.code, e.status, e.message, e.errcode, e.retryAfter)
  }
  // @ts-expect-error cardIds is a list
  await bff.addCards('pcard')
  // @ts-expect-error bonus is a number
  info.bonus.toUpperCase()
  // @ts-expect-error the add-card body needs card_id
  const bad: Operations['POST /v1/cards/add-card']['body'] = { cards: [{ id: 'pcard' }] }
  const running = await startBff()
  const sandbox = new Sandbox(running.base)
  const wx = wxStandIn(sandbox, await sandbox.user(), { form: { USER_FORM_INFO_FLAG_NAME: 'Li' } })
  const kept = createClient({ baseUrl: running.base, wx, storage: wxStorage(wx) })
  const back = wx.log.returnOptions
  if (back) await kept.activate(kept.activationReturn(back))
  await running.stop()
  console.log(maybe, sure, bad, token, at, biz, total, signature, redeemed.redeemed_at, plug, body, done.channel)
}
