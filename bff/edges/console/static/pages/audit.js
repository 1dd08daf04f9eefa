// Audit: who did what through the operator endpoints, newest first, a page at a time.
import { api } from '../api.js'
import { h, section, table, say, status, clear, reason } from '../ui.js'

const PAGE = 50

export async function render (root) {
  const line = status()
  const list = h('div', { id: 'audit' })
  const older = h('button', { type: 'button', class: 'plain', id: 'older', hidden: true }, 'Older')
  const refresh = h('button', { type: 'button', class: 'plain', id: 'audit-refresh' }, 'Refresh')
  root.append(section('Who did what', h('div', { class: 'row' }, refresh), line, list, older))
  let entries = []
  let before = null

  async function load (more) {
    try {
      const page = await api('GET', '/v1/admin/audit', { query: { limit: PAGE, before: more ? before : null } })
      entries = more ? [...entries, ...page.entries] : page.entries
      before = page.next_before
      older.hidden = !before
      say(line, '')
      clear(list, table([
        { title: 'When', get: (e) => new Date(typeof e.at === 'number' ? e.at * 1000 : e.at).toLocaleString() },
        { title: 'Operator', get: (e) => e.operator },
        { title: 'Role', get: (e) => e.role },
        { title: 'Action', get: (e) => e.action },
        { title: 'Request', get: (e) => `${e.method} ${e.path}` },
        { title: 'Status', get: (e) => e.status || null }, // 0: a command-line action
        { title: 'Request id', get: (e) => e.request_id }
      ], entries, { testid: 'audit', empty: 'Nothing recorded yet.' }))
    } catch (e) {
      say(line, reason(e), 'error')
    }
  }
  older.addEventListener('click', () => load(true))
  refresh.addEventListener('click', () => load(false))
  await load(false)
}
