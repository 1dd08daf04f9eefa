// Members: find a member by code, membership number or openid; the member's card, the card's
// activation form, what the member filled in (admin), and the ledger of bonus/balance changes. An admin changes bonus or balance:
// each submitted change gets its own Idempotency-Key, reused when the same change is sent
// again after a lost answer, so WeChat applies it once.
import { api, newKey, LostAnswer } from '../api.js'
import { h, field, input, section, table, say, status, facts, clear, busy, formValues, lookupForm, when, reason } from '../ui.js'
import { partsOf } from './cards.js'

export async function render (root, { operator, params }) {
  root.append(searchForm())
  if (params.length === 2) await memberPage(root, params[0], params[1], operator)
}

function searchForm () {
  const options = [['code', 'Code'], ['membership_number', 'Membership number'], ['oa_openid', 'Official Account openid']]
  const ids = { form: 'member-search', by: 'search-by', value: 'search-value', button: 'search', out: 'found' }
  const { form, line, out } = lookupForm(options, ids, 'Find', async (by, value) => {
    const { members } = await api('GET', '/v1/admin/members', { query: { [by]: value } })
    say(line, members.length ? '' : 'No member found.', members.length ? 'ok' : 'error')
    clear(out, table([
      { title: 'Member', get: (m) => h('a', { href: `#/members/${encodeURIComponent(m.card_id)}/${encodeURIComponent(m.code)}`, text: m.membership_number || m.code }) },
      { title: 'Code', get: (m) => m.code },
      { title: 'Card', get: (m) => m.card_id },
      { title: 'Openid', get: (m) => m.oa_openid },
      { title: 'Activated', get: (m) => when(m.activated_at) }
    ], members, { key: (m) => m.code, testid: 'members', empty: '' }))
  })
  return section('Find a member', form)
}

async function memberPage (root, cardId, code, operator) {
  const about = h('div', { id: 'member' }, h('p', { class: 'muted', text: 'Loading…' }))
  const ledger = h('div', { id: 'ledger' })
  root.append(section(`Member ${code}`, about))
  const [found, card, form] = await Promise.all([
    api('GET', '/v1/admin/members', { query: { code } }).then((r) => r.members.find((m) => m.card_id === cardId), (e) => ({ error: reason(e) })),
    api('GET', `/v1/admin/cards/${encodeURIComponent(cardId)}`).catch(() => null),
    api('GET', `/v1/admin/cards/${encodeURIComponent(cardId)}/activation-form`).catch(() => null)
  ])
  if (!found || found.error) {
    clear(about, h('p', { class: 'status error', text: found ? found.error : 'No such member.' }))
    return
  }
  const { base } = card ? partsOf(card.card) : { base: {} }
  clear(about, facts([['membership number', found.membership_number], ['code', found.code],
    ['card', base.title ? `${base.title} (${cardId})` : cardId], ['Official Account openid', found.oa_openid],
    ['Mini Program openid', found.mp_openid], ['activated', when(found.activated_at)], ['through', found.source],
    ['activation form', form ? formSummary(form) : 'none set through the service']]))
  const changes = () => loadLedger(ledger, cardId, code)
  if (operator.role === 'admin') {
    // the member's own answers: admin only, one member at a time, each read in the audit
    const answers = h('div', { id: 'member-form', 'data-testid': 'member-form' })
    root.append(section('What the member filled in', answers))
    api('GET', `/v1/admin/members/${encodeURIComponent(cardId)}/${encodeURIComponent(code)}`)
      .then((m) => clear(answers, Object.keys(m.fields || {}).length
        ? facts(Object.entries(m.fields).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
        : h('p', { class: 'muted', text: 'Nothing filled in through the service.' })))
      .catch((e) => clear(answers, h('p', { class: 'status error', text: reason(e) })))
    root.append(changeForm(cardId, code, operator, changes))
  }
  root.append(section('Ledger', ledger))
  await changes()
}

function formSummary (form) {
  const names = (part) => [...((part || {}).common_field_id_list || []).map((f) => f.replace('USER_FORM_INFO_FLAG_', '').toLowerCase()), ...((part || {}).custom_field_list || [])]
  const req = names(form.required_form)
  const opt = names(form.optional_form)
  return `asks for ${req.join(', ') || 'nothing'}${opt.length ? `; optional ${opt.join(', ')}` : ''}`
}

async function loadLedger (holder, cardId, code) {
  try {
    const { changes } = await api('GET', `/v1/admin/members/${encodeURIComponent(cardId)}/${encodeURIComponent(code)}/changes`)
    clear(holder, table([
      { title: 'When', get: (c) => when(c.at) },
      { title: 'By', get: (c) => c.by },
      { title: 'Bonus', get: (c) => signed(c.add_bonus) },
      { title: 'Bonus after', get: (c) => c.result_bonus },
      { title: 'Balance (fen)', get: (c) => signed(c.add_balance) },
      { title: 'Balance after', get: (c) => c.result_balance },
      { title: 'Why', get: (c) => [c.record_bonus, c.record_balance].filter(Boolean).join('; ') },
      { title: 'Source', get: (c) => c.source },
      { title: 'State', get: (c) => c.state }
    ], changes, { key: (c) => c.change_id, testid: 'ledger', empty: 'No changes yet.' }))
  } catch (e) {
    clear(holder, h('p', { class: 'status error', text: reason(e) }))
  }
}

function signed (n) { return n === null || n === undefined ? null : n > 0 ? `+${n}` : String(n) }

function changeForm (cardId, code, operator, reload) {
  const button = h('button', { type: 'submit', id: 'apply-change' }, 'Apply the change')
  const line = status()
  line.id = 'change-status'
  const form = h('form', { id: 'member-change' },
    h('div', { class: 'row' }, field('Add bonus points (negative: spend)', input('add_bonus', { type: 'number' })), field('Why (shown to the member)', input('record_bonus', { maxlength: 64 }))),
    h('div', { class: 'row' }, field('Add balance, fen (negative: spend)', input('add_balance', { type: 'number' })), field('Why', input('record_balance', { maxlength: 64 }))),
    button, line)
  let pending = null // {body, key}: sent, answer not known; the same change again reuses the key
  form.addEventListener('submit', busy(button, line, async () => {
    const v = formValues(form)
    const body = {}
    if (v.add_bonus) body.add_bonus = Number(v.add_bonus)
    if (v.record_bonus) body.record_bonus = v.record_bonus
    if (v.add_balance) body.add_balance = Number(v.add_balance)
    if (v.record_balance) body.record_balance = v.record_balance
    if (body.add_bonus === undefined && body.add_balance === undefined) throw new Error('change the bonus or the balance')
    body.by = operator.name // the ledger's "by"
    const same = pending && JSON.stringify(pending.body) === JSON.stringify(body)
    if (!same) pending = { body, key: newKey() }
    try {
      const r = await api('POST', `/v1/admin/members/${encodeURIComponent(cardId)}/${encodeURIComponent(code)}/changes`,
        { headers: { 'Idempotency-Key': pending.key }, body })
      pending = null
      form.reset()
      say(line, `Done: bonus ${r.result_bonus}, balance ${r.result_balance} fen.${same ? ' (the earlier attempt\'s change; applied once)' : ''}`, 'ok')
    } catch (e) {
      const unknown = e instanceof LostAnswer || e.status >= 500 || e.status === 409
      if (!unknown) pending = null
      say(line, unknown ? `${reason(e)} — not known whether it was applied: apply the same change again to retry it safely (it is applied once).` : reason(e), 'error')
    }
    await reload()
  }))
  return section('Change bonus or balance', form)
}
