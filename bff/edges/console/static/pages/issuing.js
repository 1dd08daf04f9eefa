// Issuing: QR codes (with the image to download), landing pages, the article HTML of a card,
// the test whitelist, and card broadcasts with their status.
import { api, newKey, serviceUrl } from '../api.js'
import { h, field, input, select, section, table, say, status, facts, clear, busy, formValues, lines, cardIdList, when } from '../ui.js'

const cardInput = (name = 'card_id', props = {}) => input(name, { list: 'card-ids', required: true, placeholder: 'card_id', ...props })

export async function render (root) {
  root.append(await cardIdList(api))
  root.append(h('div', { class: 'grid' }, qrCodes(), landingPage(), articleHtml(), whitelist()), broadcasts())
}

function qrCodes () {
  const button = h('button', { type: 'submit', id: 'make-qr' }, 'Make the QR code')
  const line = status()
  const out = h('div', { id: 'qr' })
  const form = h('form', { id: 'qr-form' },
    field('Card', cardInput('card_id', { id: 'qr-card' })),
    field('Channel (outer_str)', input('outer_str', { id: 'qr-channel', maxlength: 128, placeholder: 'e.g. poster-7' }), 'Counted per channel in Statistics'),
    field('Expires after (seconds, 60–1800; empty: never)', input('expire_seconds', { type: 'number', min: 60, max: 1800 })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'is_unique_code', value: 'yes' }), 'One scan only'),
    button, line, out)
  form.addEventListener('submit', busy(button, line, async () => {
    const v = formValues(form)
    const card = { card_id: v.card_id }
    if (v.outer_str) card.outer_str = v.outer_str
    if (v.is_unique_code) card.is_unique_code = true
    const body = { cards: [card] }
    if (v.expire_seconds) body.expire_seconds = Number(v.expire_seconds)
    const qr = await api('POST', '/v1/admin/qrcodes', { body })
    const png = qr.image_url || serviceUrl('/v1/admin/qrcodes/image', { url: qr.url, format: 'png' })
    const svg = serviceUrl('/v1/admin/qrcodes/image', { url: qr.url, format: 'svg' })
    clear(out, h('img', { class: 'qr', src: png, alt: 'QR code', 'data-testid': 'qr-image' }),
      h('p', {}, h('a', { href: png, download: `qr-${v.card_id}.png`, id: 'qr-png' }, 'Download PNG'), ' · ',
        h('a', { href: svg, download: `qr-${v.card_id}.svg` }, 'Download SVG')),
      facts([['ticket', qr.ticket], ['url', qr.url], ['expires in', qr.expire_seconds ? `${qr.expire_seconds} s` : 'never']]))
    say(line, 'QR code made.', 'ok')
  }))
  return section('QR code', form)
}

function landingPage () {
  const button = h('button', { type: 'submit' }, 'Create the landing page')
  const line = status()
  const out = h('div')
  const form = h('form', { id: 'landing-form' },
    field('Page title', input('page_title', { required: true, maxlength: 64 })),
    field('Banner image URL (from an upload)', input('banner', { required: true })),
    field('Card thumbnails URL', input('thumb_url', { placeholder: 'the banner when empty' })),
    field('Cards (card_ids, one a line)', h('textarea', { name: 'cards', required: true })),
    field('Where it is shown', select('scene', ['SCENE_QRCODE', 'SCENE_MENU', 'SCENE_ARTICLE', 'SCENE_H5', 'SCENE_NEAR_BY', 'SCENE_IVR', 'SCENE_CARD_CUSTOM_CELL'])),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'can_share', value: 'yes' }), 'Can be shared'),
    button, line, out)
  form.addEventListener('submit', busy(button, line, async () => {
    const v = formValues(form)
    const thumb = v.thumb_url || v.banner
    const page = await api('POST', '/v1/admin/landing-pages', {
      body: { page_title: v.page_title, banner: v.banner, scene: v.scene, can_share: v.can_share === 'yes',
        card_list: lines(v.cards).map((id) => ({ card_id: id, thumb_url: thumb })) }
    })
    clear(out, facts([['page_id', page.page_id], ['url', page.url]]))
    say(line, 'Landing page created.', 'ok')
  }))
  return section('Landing page', form)
}

function articleHtml () {
  const button = h('button', { type: 'submit' }, 'Get the HTML')
  const line = status()
  const out = h('div')
  const form = h('form', { id: 'article-form' }, field('Card', cardInput('card_id', { id: 'article-card' })), button, line, out)
  form.addEventListener('submit', busy(button, line, async () => {
    const { content } = await api('GET', `/v1/admin/cards/${encodeURIComponent(formValues(form).card_id)}/article-html`)
    const text = h('textarea', { readonly: true, 'aria-label': 'article HTML' })
    text.value = content // shown as text, never put into the page as HTML
    const copy = h('button', { type: 'button', class: 'plain', onclick: () => navigator.clipboard.writeText(content).then(() => say(line, 'Copied.', 'ok')) }, 'Copy')
    clear(out, text, copy)
    say(line, 'Paste it into the Official Account article.', 'ok')
  }))
  return section('Article HTML', form)
}

function whitelist () {
  const button = h('button', { type: 'submit' }, 'Replace the whitelist')
  const line = status()
  const form = h('form', { id: 'whitelist-form' },
    h('p', { class: 'muted', text: 'Testers may take a card still in review. At most 10 in all; this replaces the list.' }),
    field('Official Account openids', h('textarea', { name: 'openid' })),
    field('WeChat IDs', h('textarea', { name: 'username' })), button, line)
  form.addEventListener('submit', busy(button, line, async () => {
    const v = formValues(form)
    await api('PUT', '/v1/admin/test-whitelist', { body: { openid: lines(v.openid || ''), username: lines(v.username || '') } })
    say(line, 'Whitelist replaced.', 'ok')
  }))
  return section('Test whitelist', form)
}

function broadcasts () {
  const sent = [] // this visit's broadcasts; any other is found by its id
  const list = h('div', { id: 'broadcasts' })
  const audience = select('audience', [['all', 'Every follower'], ['tag', 'Followers with a tag'], ['openids', 'These openids (2–10,000)']])
  const target = h('textarea', { name: 'target', placeholder: 'tag id, or openids one a line' })
  const button = h('button', { type: 'submit', id: 'broadcast' }, 'Send')
  const preview = h('button', { type: 'button', class: 'plain', id: 'preview' }, 'Preview on one phone')
  const line = status()
  const form = h('form', { id: 'broadcast-form' },
    field('Card', cardInput('card_id', { id: 'broadcast-card' })), field('To', audience),
    field('Tag id or openids', target), field('Preview to (openid or WeChat ID)', input('preview_to')),
    h('div', { class: 'row' }, button, preview), line)
  let pendingKey = null // one send: a retry after a lost answer reuses its client_msg_id
  form.addEventListener('input', () => { pendingKey = null })
  form.addEventListener('submit', busy(button, line, async () => {
    const v = formValues(form)
    const to = v.audience === 'all' ? { all: true } : v.audience === 'tag' ? { tag_id: Number(v.target) } : { openids: lines(v.target) }
    pendingKey = pendingKey || `console-${newKey()}`
    const b = await api('POST', '/v1/admin/broadcasts', { body: { card_id: v.card_id, to, client_msg_id: pendingKey } })
    pendingKey = null
    sent.unshift(b)
    say(line, b.replayed ? 'This broadcast was already sent.' : `Sent: ${b.broadcast_id}`, 'ok')
    draw()
  }))
  preview.addEventListener('click', busy(preview, line, async () => {
    const v = formValues(form)
    if (!v.preview_to) throw new Error('who gets the preview?')
    const who = /^[A-Za-z0-9_-]{20,}$/.test(v.preview_to) ? { openid: v.preview_to } : { wxname: v.preview_to }
    await api('POST', '/v1/admin/broadcasts/preview', { body: { card_id: v.card_id, ...who } })
    say(line, 'Preview sent.', 'ok')
  }))
  const lookupId = input('broadcast_id', { placeholder: 'broadcast_id' })
  const lookup = h('button', { type: 'button', class: 'plain' }, 'Find')
  lookup.addEventListener('click', busy(lookup, line, async () => {
    const b = await api('GET', `/v1/admin/broadcasts/${encodeURIComponent(lookupId.value.trim())}`)
    sent.unshift(b)
    draw()
  }))
  async function refresh () {
    for (let i = 0; i < sent.length; i++) {
      try { sent[i] = { ...sent[i], ...await api('GET', `/v1/admin/broadcasts/${encodeURIComponent(sent[i].broadcast_id)}`) } } catch (e) { /* kept as it was */ }
    }
    draw()
  }
  function draw () {
    clear(list, table([
      { title: 'Broadcast', get: (b) => b.broadcast_id },
      { title: 'Card', get: (b) => b.card_id },
      { title: 'To', get: (b) => b.audience === 'tag' ? `tag ${b.tag_id}` : b.audience === 'openids' ? `${b.openid_count} openids` : b.audience },
      { title: 'Sent', get: (b) => when(b.created_at) },
      { title: 'Status', get: (b) => h('span', { class: 'badge', text: b.status }) },
      { title: 'WeChat', get: (b) => b.wechat_status },
      { title: 'Counts', get: (b) => b.total === null || b.total === undefined ? '' : `${b.sent}/${b.filtered} of ${b.total}, ${b.errors} errors` }
    ], sent, { key: (b) => b.broadcast_id, empty: 'No broadcast sent from this page yet.' }),
    h('button', { type: 'button', class: 'plain', onclick: refresh }, 'Refresh status'))
  }
  draw()
  return section('Broadcasts', form, h('h3', { text: 'Status' }), h('div', { class: 'row' }, field('Look up a broadcast', lookupId), lookup), list)
}
