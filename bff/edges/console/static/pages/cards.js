// Cards: the catalogue (review state, stock), a new card from a form with its logo uploaded,
// and one card's page: change it, change its stock, set a member card's activation form.
import { api } from '../api.js'
import { h, field, input, select, section, table, say, status, facts, clear, busy, formValues, reason } from '../ui.js'

const TYPES = [['GENERAL_COUPON', 'General coupon'], ['CASH', 'Cash voucher'], ['DISCOUNT', 'Discount'],
  ['GIFT', 'Gift'], ['GROUPON', 'Group deal'], ['MEMBER_CARD', 'Member card']]
const COLORS = ['Color010', 'Color020', 'Color030', 'Color040', 'Color050', 'Color060', 'Color070',
  'Color080', 'Color081', 'Color082', 'Color090', 'Color100', 'Color101', 'Color102']
const CODE_TYPES = ['CODE_TYPE_QRCODE', 'CODE_TYPE_BARCODE', 'CODE_TYPE_TEXT', 'CODE_TYPE_ONLY_QRCODE', 'CODE_TYPE_ONLY_BARCODE', 'CODE_TYPE_NONE']
const COMMON_FIELDS = ['USER_FORM_INFO_FLAG_NAME', 'USER_FORM_INFO_FLAG_MOBILE', 'USER_FORM_INFO_FLAG_SEX',
  'USER_FORM_INFO_FLAG_BIRTHDAY', 'USER_FORM_INFO_FLAG_EMAIL', 'USER_FORM_INFO_FLAG_LOCATION',
  'USER_FORM_INFO_FLAG_IDCARD', 'USER_FORM_INFO_FLAG_EDUCATION_BACKGRO', 'USER_FORM_INFO_FLAG_INDUSTRY',
  'USER_FORM_INFO_FLAG_INCOME', 'USER_FORM_INFO_FLAG_HABIT']

/** The type's object of a card/get answer and its base_info. */
export function partsOf (card) {
  const body = card[card.card_type.toLowerCase()] || {}
  return { body, base: body.base_info || {} }
}

export async function render (root, { params }) {
  if (params[0]) return cardPage(root, params[0])
  const list = h('div', { id: 'catalogue' }, h('p', { class: 'muted', text: 'Loading the catalogue…' }))
  root.append(section('Catalogue', list))
  if (await loadCatalogue(list)) root.append(newCardForm()) // not offered to a role refused the catalogue
}

async function loadCatalogue (holder) {
  try {
    const { card_ids: ids, total } = await api('GET', '/v1/admin/cards', { query: { count: 50 } })
    const views = await Promise.all(ids.map((id) => api('GET', `/v1/admin/cards/${id}`)
      .then((v) => ({ id, ...v }), (e) => ({ id, error: reason(e) }))))
    clear(holder, h('p', { class: 'muted', text: `${total} card(s)${total > ids.length ? `; the first ${ids.length} shown` : ''}` }),
      table([
        { title: 'Card', get: (v) => h('a', { href: `#/cards/${encodeURIComponent(v.id)}`, text: v.card ? partsOf(v.card).base.title || v.id : v.id }) },
        { title: 'Type', get: (v) => v.card && v.card.card_type },
        { title: 'Review', get: (v) => v.error ? v.error : h('span', { class: `badge ${v.review_state}`, text: v.review_state }) },
        { title: 'Stock', get: (v) => v.card && stockOf(v.card) },
        { title: 'Alert', get: (v) => v.stock_alert ? 'low stock' : '' },
        { title: 'card_id', get: (v) => v.id }
      ], views, { key: (v) => v.id, testid: 'catalogue' }))
    return true
  } catch (e) {
    clear(holder, h('p', { class: 'status error', id: 'catalogue-error', text: reason(e) }))
    return e.status !== 403
  }
}

function stockOf (card) {
  const sku = partsOf(card).base.sku || {}
  return sku.total_quantity !== undefined ? `${sku.quantity} of ${sku.total_quantity}` : sku.quantity
}

function newCardForm () {
  const type = select('card_type', TYPES, { id: 'new-type' })
  const logo = h('input', { type: 'file', name: 'logo', id: 'logo', accept: 'image/png,image/jpeg', required: true })
  const preview = h('img', { class: 'preview', alt: 'logo preview', hidden: true })
  logo.addEventListener('change', () => {
    if (preview.src) URL.revokeObjectURL(preview.src)
    const file = logo.files[0]
    preview.hidden = !file
    if (file) preview.src = URL.createObjectURL(file)
  })
  const specific = h('div', { id: 'type-fields' })
  const drawSpecific = () => clear(specific, typeFields(type.value))
  type.addEventListener('change', drawSpecific)
  drawSpecific()
  const button = h('button', { type: 'submit', id: 'create' }, 'Create the card')
  const line = status()
  line.id = 'create-status'
  const form = h('form', { id: 'new-card', autocomplete: 'off' },
    h('div', { class: 'row' }, field('Type', type), field('Title', input('title', { required: true, maxlength: 27 }))),
    h('div', { class: 'row' }, field('Brand name', input('brand_name', { required: true, maxlength: 36 })),
      field('Colour', select('color', COLORS)), field('Code shown as', select('code_type', CODE_TYPES))),
    h('div', { class: 'row' }, field('Logo (JPG or PNG, ≤ 1 MB)', logo), preview),
    field('Notice (at the counter)', input('notice', { required: true, maxlength: 48 })),
    field('Description', h('textarea', { name: 'description', id: 'description', required: true })),
    h('div', { class: 'row' }, field('Stock', input('quantity', { type: 'number', min: 0, value: '1000', required: true })),
      field('Per person (0: no limit)', input('get_limit', { type: 'number', min: 0, value: '1' })),
      field('Valid for (days after taking; member cards never expire)', input('fixed_term', { type: 'number', min: 1, value: '30' }))),
    specific, button, line)
  form.addEventListener('submit', busy(button, line, async () => {
    const v = formValues(form)
    const file = logo.files[0]
    if (!file) throw new Error('choose a logo image')
    say(line, 'Uploading the logo…', 'busy')
    const upload = new FormData()
    upload.append('file', file)
    const { url } = await api('POST', '/v1/admin/images', { form: upload })
    say(line, 'Creating the card…', 'busy')
    const created = await api('POST', '/v1/admin/cards', { body: { card: cardBody(v, url) } })
    say(line, `Created ${created.card_id}; it waits for WeChat's review.`, 'ok')
    line.dataset.cardId = created.card_id
    form.reset()
    preview.hidden = true
    drawSpecific()
    const holder = document.getElementById('catalogue')
    if (holder) loadCatalogue(holder)
  }))
  return section('New card', form)
}

function typeFields (type) {
  const f = {
    GENERAL_COUPON: [field('What it gives', input('default_detail', { required: true, placeholder: '¥10 off an order of ¥50' }))],
    CASH: [h('div', { class: 'row' }, field('Amount off (fen)', input('reduce_cost', { type: 'number', min: 1, required: true })),
      field('Minimum spend (fen)', input('least_cost', { type: 'number', min: 0, value: '0' })))],
    DISCOUNT: [field('Percent off', input('discount', { type: 'number', min: 1, max: 99, required: true }))],
    GIFT: [field('The gift', input('gift', { required: true }))],
    GROUPON: [field('The deal', input('deal_detail', { required: true }))],
    MEMBER_CARD: [field('Privileges', input('prerogative', { required: true })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'supply_bonus', value: 'yes', checked: true }), 'Points (bonus)'),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'supply_balance', value: 'yes', checked: true }), 'Stored value (balance)'),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'wx_activate', value: 'yes', checked: true }), 'Activate with WeChat\'s form')]
  }
  return f[type] || []
}

/** WeChat's card/create body from the form. */
export function cardBody (v, logoUrl) {
  const member = v.card_type === 'MEMBER_CARD'
  const base = {
    logo_url: logoUrl, brand_name: v.brand_name, code_type: v.code_type, title: v.title, color: v.color,
    notice: v.notice, description: v.description, sku: { quantity: Number(v.quantity) },
    get_limit: Number(v.get_limit || 0),
    date_info: member ? { type: 'DATE_TYPE_PERMANENT' } : { type: 'DATE_TYPE_FIX_TERM', fixed_term: Number(v.fixed_term || 30), fixed_begin_term: 0 }
  }
  const body = { base_info: base }
  if (v.card_type === 'GENERAL_COUPON') body.default_detail = v.default_detail
  if (v.card_type === 'CASH') Object.assign(body, { reduce_cost: Number(v.reduce_cost), least_cost: Number(v.least_cost || 0) })
  if (v.card_type === 'DISCOUNT') body.discount = Number(v.discount)
  if (v.card_type === 'GIFT') body.gift = v.gift
  if (v.card_type === 'GROUPON') body.deal_detail = v.deal_detail
  if (member) {
    Object.assign(body, { prerogative: v.prerogative, supply_bonus: v.supply_bonus === 'yes', supply_balance: v.supply_balance === 'yes' })
    if (v.wx_activate === 'yes') body.wx_activate = true
  }
  return { card_type: v.card_type, [v.card_type.toLowerCase()]: body }
}

async function cardPage (root, cardId) {
  root.querySelector('h1').textContent = 'Card'
  root.append(h('p', {}, h('a', { href: '#/cards', text: '← Catalogue' })))
  const about = h('div', { id: 'card-facts' }, h('p', { class: 'muted', text: 'Loading…' }))
  root.append(section(cardId, about))
  let view
  try {
    view = await api('GET', `/v1/admin/cards/${encodeURIComponent(cardId)}`)
  } catch (e) {
    clear(about, h('p', { class: 'status error', text: reason(e) }))
    return
  }
  const { base } = partsOf(view.card)
  clear(about, facts([['title', base.title], ['type', view.card.card_type],
    ['review', h('span', { class: `badge ${view.review_state}`, text: view.review_state })],
    ['review reason', view.review_reason], ['stock', stockOf(view.card)], ['brand', base.brand_name],
    ['colour', base.color], ['notice', base.notice], ['description', base.description],
    ['logo', base.logo_url], ['low-stock alert', view.stock_alert ? JSON.stringify(view.stock_alert) : 'none']]))
  root.append(h('div', { class: 'grid' }, changeForm(cardId, base), stockForm(cardId)))
  if (view.card.card_type === 'MEMBER_CARD') root.append(await activationForm(cardId))
}

function changeForm (cardId, base) {
  const button = h('button', { type: 'submit', id: 'save-card' }, 'Save changes')
  const line = status()
  const form = h('form', { id: 'change-card' },
    field('Title', input('title', { value: base.title || '' })),
    field('Colour', select('color', COLORS)),
    field('Notice', input('notice', { value: base.notice || '' })),
    field('Description', h('textarea', { name: 'description', id: 'change-description' }, base.description || '')),
    field('Service phone', input('service_phone', { value: base.service_phone || '' })),
    button, line)
  form.elements.color.value = base.color || 'Color010'
  form.addEventListener('submit', busy(button, line, async () => {
    const v = formValues(form)
    const changed = {}
    for (const k of ['title', 'color', 'notice', 'description', 'service_phone']) if (v[k] && v[k] !== (base[k] || '')) changed[k] = v[k]
    if (!Object.keys(changed).length) return say(line, 'Nothing changed.', 'ok')
    const answer = await api('PATCH', `/v1/admin/cards/${encodeURIComponent(cardId)}`, { body: { base_info: changed } })
    Object.assign(base, changed)
    say(line, answer.send_check ? 'Saved; the card goes back to WeChat\'s review.' : 'Saved.', 'ok')
  }))
  return section('Change the card', form)
}

function stockForm (cardId) {
  const delta = input('delta', { type: 'number', required: true, placeholder: '+100 or -20' })
  const button = h('button', { type: 'submit', id: 'change-stock' }, 'Change stock')
  const line = status()
  const form = h('form', { id: 'stock' }, field('Add (or take away, negative)', delta), button, line)
  form.addEventListener('submit', busy(button, line, async () => {
    const n = Number(delta.value)
    if (!Number.isInteger(n) || n === 0) throw new Error('a whole number, not 0')
    await api('POST', `/v1/admin/cards/${encodeURIComponent(cardId)}/stock`, { body: { delta: n } })
    say(line, `Stock ${n > 0 ? 'added' : 'taken away'}: ${Math.abs(n)}.`, 'ok')
    delta.value = ''
  }))
  return section('Stock', form)
}

async function activationForm (cardId) {
  let current = {}
  try {
    current = await api('GET', `/v1/admin/cards/${encodeURIComponent(cardId)}/activation-form`)
  } catch (e) {
    if (e.status !== 404) throw e
  }
  const required = new Set(((current.required_form || {}).common_field_id_list) || [])
  const optional = new Set(((current.optional_form || {}).common_field_id_list) || [])
  const rows = COMMON_FIELDS.map((f) => h('tr', {},
    h('td', { text: f.replace('USER_FORM_INFO_FLAG_', '').toLowerCase() }),
    h('td', {}, h('select', { name: f, 'aria-label': f },
      ['no', 'required', 'optional'].map((o) => h('option', { value: o, text: o, selected: (o === 'required' && required.has(f)) || (o === 'optional' && optional.has(f)) || undefined }))))))
  const custom = input('custom', { value: (((current.required_form || {}).custom_field_list) || []).join(', '), placeholder: 'e.g. Favourite shop' })
  const button = h('button', { type: 'submit', id: 'save-form' }, 'Set the form')
  const line = status()
  const form = h('form', { id: 'activation-form' },
    h('div', { class: 'scroll' }, h('table', {}, h('tbody', {}, rows))),
    field('Your own required questions (comma separated)', custom), button, line)
  form.addEventListener('submit', busy(button, line, async () => {
    const req = []
    const opt = []
    for (const f of COMMON_FIELDS) {
      const choice = form.elements[f].value
      if (choice === 'required') req.push(f)
      if (choice === 'optional') opt.push(f)
    }
    const own = custom.value.split(',').map((s) => s.trim()).filter(Boolean)
    const body = {}
    if (req.length || own.length) body.required_form = { common_field_id_list: req, ...(own.length ? { custom_field_list: own } : {}) }
    if (opt.length) body.optional_form = { common_field_id_list: opt }
    if (!Object.keys(body).length) throw new Error('ask for at least one field')
    await api('PUT', `/v1/admin/cards/${encodeURIComponent(cardId)}/activation-form`, { body })
    say(line, 'The activation form is set.', 'ok')
  }))
  return section('Activation form', form)
}
