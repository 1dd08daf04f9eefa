// Events: the card events WeChat pushed (taken, redeemed, deleted, gifted, activated...), newest
// first, updated live by polling the stream after its last id.
import { api } from '../api.js'
import { h, input, field, section, table, say, status, clear, when, reason } from '../ui.js'

const KEEP = 200 // events shown
const EVERY_MS = 2000

export async function render (root) {
  const line = status()
  const filter = input('filter', { id: 'events-filter', placeholder: 'event, card_id, code or openid' })
  const list = h('div', { id: 'events' })
  const live = h('span', { class: 'badge', id: 'live', text: 'live' })
  root.append(section('Recent card events', h('div', { class: 'row' }, field('Show only', filter), live), line, list))
  let events = []
  let after = null
  let timer = null
  let stopped = false

  function draw () {
    const words = filter.value.trim().toLowerCase()
    const shown = words ? events.filter((e) => [e.event, e.card_id, e.code, e.openid].some((v) => v && String(v).toLowerCase().includes(words))) : events
    clear(list, table([
      { title: 'When', get: (e) => when(e.create_time) || when(e.received_at / 1000) },
      { title: 'Event', get: (e) => h('span', { class: 'badge', text: e.event }) },
      { title: 'Card', get: (e) => e.card_id },
      { title: 'Code', get: (e) => e.code },
      { title: 'Openid', get: (e) => e.openid },
      { title: 'Channel', get: (e) => (e.fields || {}).OuterStr }
    ], shown, { key: (e) => e.id, testid: 'events', empty: 'No events yet.' }))
  }

  async function poll () {
    try {
      for (;;) { // the stream from where we are, in pages, up to its end
        const page = await api('GET', '/v1/admin/events', { query: { after, limit: 1000 }, headers: { 'X-BFF-Background': '1' } })
        after = page.next || after
        if (!page.events.length) break
        events = [...page.events.reverse(), ...events].slice(0, KEEP)
        if (page.events.length < 1000) break
      }
      say(line, '')
      live.textContent = `live · ${new Date().toLocaleTimeString()}`
      draw()
    } catch (e) {
      say(line, reason(e), 'error')
      if (e.status === 401 || e.status === 403) stopped = true
    }
    if (!stopped) timer = setTimeout(poll, EVERY_MS)
  }

  filter.addEventListener('input', draw)
  await poll()
  return () => { stopped = true; clearTimeout(timer) }
}
