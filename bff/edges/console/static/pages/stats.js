// Statistics: the service's channel statistics (from user_get_card and later events, by
// outer_str) per day, per channel and per card; WeChat's own card data (datacube) per day.
// Both for a chosen date range, drawn with Chart.js and downloadable as CSV.
import { api } from '../api.js'
import { h, field, input, select, section, table, say, status, clear, busy, formValues, csv, downloadBlob, chart, cardIdList } from '../ui.js'

const MEASURES = ['received', 'consumed', 'deleted', 'gifted']
const COLORS = { received: '#07a05a', consumed: '#0b6bcb', deleted: '#c62828', gifted: '#8a6d00', opened: '#7b1fa2' }
const PALETTE = ['#07a05a', '#0b6bcb', '#c62828', '#8a6d00', '#7b1fa2', '#00838f', '#ef6c00', '#5d4037']
const NOT_COUNTS = new Set(['ref_date', 'computed', 'card_id', 'card_type', 'is_pay', 'merchanttype', 'sub_merchant_id'])

/** A card_id on an axis: its start (the whole id is in the tooltip and the CSV). */
function shortLabel (value) {
  const label = String(this.getLabelForValue(value))
  return label.length > 14 ? `${label.slice(0, 12)}…` : label
}

// A day as the service and WeChat date statistics: in Shanghai (no daylight saving), whatever
// the browser's own zone; from 16:00 UTC a UTC browser's "today" is Shanghai's yesterday.
function day (offset) {
  const d = new Date(Date.now() + offset * 86400000)
  return d.toLocaleDateString('en-CA', { timeZone: 'Asia/Shanghai' }) // YYYY-MM-DD
}

export async function render (root) {
  const ids = await cardIdList(api)
  root.append(channels(ids), datacube(ids))
}

function channels (ids) {
  const from = input('from', { type: 'date', value: day(-29), id: 'channels-from' })
  const to = input('to', { type: 'date', value: day(0), id: 'channels-to' })
  const card = select('card_id', [['', 'All cards'], ...[...ids.options].map((o) => o.value)], { id: 'channels-card' })
  const button = h('button', { type: 'submit', id: 'show-channels' }, 'Show')
  const download = h('button', { type: 'button', class: 'plain', id: 'channels-csv', disabled: true }, 'Download CSV')
  const line = status()
  const perDay = h('div')
  const perChannelDay = h('div')
  const perChannel = h('div')
  const perCard = h('div')
  const totals = h('div', { id: 'channel-totals' })
  let rows = []
  const form = h('form', { id: 'channels-form', class: 'row' }, field('From', from), field('To', to), field('Card', card), button, download)
  const show = busy(button, line, async () => {
    const v = formValues(form)
    const answer = await api('GET', '/v1/admin/stats/channels', { query: v })
    rows = answer.rows
    download.disabled = !rows.length
    say(line, rows.length ? '' : 'No card events in this range.', 'ok')
    const days = [...new Set(rows.map((r) => r.date))].sort()
    const channelsSeen = [...new Set(rows.map((r) => r.outer_str))].sort()
    const cards = [...new Set(rows.map((r) => r.card_id))].sort()
    const sum = (keep, m) => rows.filter(keep).reduce((n, r) => n + r[m], 0)
    const label = (c) => c || '(no channel)'
    chart(perDay, { type: 'line', data: { labels: days, datasets: MEASURES.map((m) => ({ label: m, borderColor: COLORS[m], backgroundColor: COLORS[m], data: days.map((d) => sum((r) => r.date === d, m)) })) } }, 'chart-days')
    chart(perChannelDay, { type: 'line', data: { labels: days, datasets: channelsSeen.map((c, i) => ({ label: label(c), borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length], data: days.map((d) => sum((r) => r.date === d && r.outer_str === c, 'received')) })) } }, 'chart-channel-days')
    chart(perChannel, { type: 'bar', data: { labels: channelsSeen.map(label), datasets: MEASURES.map((m) => ({ label: m, backgroundColor: COLORS[m], data: channelsSeen.map((c) => sum((r) => r.outer_str === c, m)) })) } }, 'chart-channels')
    chart(perCard, { type: 'bar', data: { labels: cards, datasets: MEASURES.map((m) => ({ label: m, backgroundColor: COLORS[m], data: cards.map((c) => sum((r) => r.card_id === c, m)) })) }, options: { indexAxis: 'y', scales: { y: { ticks: { callback: shortLabel } } } } }, 'chart-cards')
    clear(totals, table([{ title: 'Channel', get: (c) => label(c) }, ...MEASURES.map((m) => ({ title: m, get: (c) => sum((r) => r.outer_str === c, m) }))],
      channelsSeen, { key: (c) => c, testid: 'channel-totals', empty: '' }))
  })
  form.addEventListener('submit', show)
  download.addEventListener('click', () => downloadBlob(`channels-${from.value}-${to.value}.csv`, new Blob([csv(
    [['date', (r) => r.date], ['card_id', (r) => r.card_id], ['outer_str', (r) => r.outer_str], ...MEASURES.map((m) => [m, (r) => r[m]]), ['opened', (r) => r.opened]], rows)], { type: 'text/csv' })))
  const panel = section('Channels (outer_str)', form, line,
    h('div', { class: 'charts' }, h('div', {}, h('h3', { text: 'Per day' }), perDay), h('div', {}, h('h3', { text: 'Received per day, per channel' }), perChannelDay),
      h('div', {}, h('h3', { text: 'Per channel' }), perChannel), h('div', {}, h('h3', { text: 'Per card' }), perCard)),
    h('h3', { text: 'Totals per channel' }), totals)
  show()
  return panel
}

function datacube (ids) {
  const kind = select('kind', [['summary', 'All cards (summary)'], ['card', 'Per card'], ['member', 'Member cards']], { id: 'wechat-kind' })
  const from = input('from', { type: 'date', value: day(-7), id: 'wechat-from' })
  const to = input('to', { type: 'date', value: day(-1), id: 'wechat-to' })
  const card = select('card_id', [['', 'All cards'], ...[...ids.options].map((o) => o.value)], { id: 'wechat-card' })
  const button = h('button', { type: 'submit', id: 'show-wechat' }, 'Show')
  const download = h('button', { type: 'button', class: 'plain', disabled: true }, 'Download CSV')
  const line = status()
  const drawn = h('div')
  let rows = []
  let fields = []
  const form = h('form', { id: 'wechat-form', class: 'row' }, field('Data', kind), field('From', from), field('To', to), field('Card (per card only)', card), button, download)
  const show = busy(button, line, async () => {
    const v = formValues(form)
    if (v.kind !== 'card') delete v.card_id
    rows = (await api('GET', '/v1/admin/stats/wechat', { query: v })).rows || []
    const computed = rows.filter((r) => r.computed !== false)
    fields = [...new Set(computed.flatMap((r) => Object.keys(r)).filter((k) => !NOT_COUNTS.has(k) && computed.some((r) => typeof r[k] === 'number')))]
    const days = [...new Set(rows.map((r) => r.ref_date))].sort()
    const waiting = rows.length - computed.length
    say(line, rows.length ? (waiting ? `${waiting} day(s) not computed by WeChat yet.` : '') : 'No data in this range.', waiting ? 'busy' : 'ok')
    download.disabled = !rows.length
    chart(drawn, { type: 'line', data: { labels: days, datasets: fields.map((f, i) => ({ label: f, borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length], data: days.map((d) => computed.filter((r) => r.ref_date === d).reduce((n, r) => n + (r[f] || 0), 0)) })) } }, 'chart-wechat')
  })
  form.addEventListener('submit', show)
  download.addEventListener('click', () => downloadBlob(`wechat-${kind.value}-${from.value}-${to.value}.csv`, new Blob([csv(
    [['ref_date', (r) => r.ref_date], ...(kind.value === 'card' ? [['card_id', (r) => r.card_id]] : []), ['computed', (r) => r.computed !== false], ...fields.map((f) => [f, (r) => r[f]])], rows)], { type: 'text/csv' })))
  const panel = section('WeChat card data (datacube)', h('p', { class: 'muted', text: 'WeChat\'s own figures, computed a day later.' }), form, line, drawn)
  show()
  return panel
}
