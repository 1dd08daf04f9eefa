// Codes: import a file of custom codes (100 a call, with a progress bar and a report), count
// the codes deposited for a card, check which codes WeChat holds.
import { api, LostAnswer } from '../api.js'
import { h, field, input, section, say, status, facts, clear, busy, formValues, lines, cardIdList, downloadBlob, reason } from '../ui.js'

const CHUNK = 100 // WeChat's card/code/deposit takes at most 100 codes a call
const cardInput = (id) => input('card_id', { id, list: 'card-ids', required: true, placeholder: 'card_id' })

export async function render (root) {
  root.append(await cardIdList(api), importer(), h('div', { class: 'grid' }, counter(), checker()))
}

/** The codes of a file: one a line (the first column of a CSV), blanks and repeats dropped. */
export function codesOf (text) {
  const seen = new Set()
  let repeated = 0
  for (const raw of text.split(/\r?\n/)) {
    const code = raw.split(',')[0].trim().replace(/^"|"$/g, '')
    if (!code) continue
    if (seen.has(code)) repeated++
    else seen.add(code)
  }
  return { codes: [...seen], repeated }
}

function importer () {
  const file = h('input', { type: 'file', name: 'file', id: 'codes-file', accept: '.txt,.csv,text/plain,text/csv', required: true })
  const bar = h('progress', { id: 'import-progress', max: 1, value: 0, hidden: true })
  const button = h('button', { type: 'submit', id: 'import' }, 'Import')
  const line = status()
  const report = h('div', { id: 'import-report' })
  const form = h('form', { id: 'import-form' },
    h('p', { class: 'muted', text: 'A text or CSV file, one code a line (the first column). Codes go to WeChat 100 at a time; a code already deposited is reported as a duplicate, so importing a file again is safe.' }),
    h('div', { class: 'row' }, field('Card', cardInput('import-card')), field('File', file)), button, bar, line, report)
  form.addEventListener('submit', busy(button, line, async () => {
    const cardId = formValues(form).card_id
    const { codes, repeated } = codesOf(await file.files[0].text())
    if (!codes.length) throw new Error('the file has no codes')
    const done = { deposited: [], duplicate: [], failed: [], problems: [] }
    bar.hidden = false
    bar.max = codes.length
    bar.value = 0
    clear(report)
    for (let i = 0; i < codes.length; i += CHUNK) {
      const chunk = codes.slice(i, i + CHUNK)
      say(line, `Importing ${Math.min(i + CHUNK, codes.length)} of ${codes.length}…`, 'busy')
      try {
        const answer = await deposit(cardId, chunk)
        done.deposited.push(...list(answer.succ_code))
        done.duplicate.push(...list(answer.duplicate_code))
        done.failed.push(...list(answer.fail_code))
      } catch (e) {
        done.failed.push(...chunk)
        done.problems.push(`codes ${i + 1}–${i + chunk.length}: ${reason(e)}`)
        if (e.status === 403 || e.status === 404) break // no use going on
      }
      bar.value = Math.min(i + CHUNK, codes.length)
    }
    let count = null
    try { count = (await api('GET', `/v1/admin/cards/${encodeURIComponent(cardId)}/codes/count`)).count } catch (e) { /* shown as — */ }
    clear(report, facts([['codes in the file', codes.length], ['repeated lines dropped', repeated],
      ['deposited', done.deposited.length], ['already deposited', done.duplicate.length],
      ['failed', done.failed.length], ['codes WeChat now holds', count]]),
    done.problems.map((p) => h('p', { class: 'status error', text: p })),
    done.failed.length ? h('button', { type: 'button', class: 'plain', onclick: () => downloadBlob(`failed-codes-${cardId}.txt`, new Blob([done.failed.join('\n') + '\n'], { type: 'text/plain' })) }, 'Download the failed codes') : null)
    say(line, done.failed.length ? 'Imported, with failures (see the report).' : 'Imported.', done.failed.length ? 'error' : 'ok')
  }))
  return section('Import codes', form)
}

function list (v) { return Array.isArray(v) ? v : v ? [v] : [] }

/** One deposit; a lost answer or a busy WeChat is tried again (a repeat comes back as duplicates). */
async function deposit (cardId, codes) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await api('POST', `/v1/admin/cards/${encodeURIComponent(cardId)}/codes`, { body: { codes } })
    } catch (e) {
      const again = e instanceof LostAnswer || e.status === 429 || e.status >= 500
      if (!again || attempt >= 3) throw e
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt))
    }
  }
}

function counter () {
  const button = h('button', { type: 'submit', id: 'count' }, 'Count')
  const line = status()
  const out = h('p', { class: 'big', id: 'code-count' })
  const form = h('form', { id: 'count-form' }, field('Card', cardInput('count-card')), button, line, out)
  form.addEventListener('submit', busy(button, line, async () => {
    const { count } = await api('GET', `/v1/admin/cards/${encodeURIComponent(formValues(form).card_id)}/codes/count`)
    out.textContent = `${count} code(s) deposited`
    say(line, '')
  }))
  return section('Count codes', form)
}

function checker () {
  const button = h('button', { type: 'submit', id: 'check' }, 'Check')
  const line = status()
  const out = h('div', { id: 'check-result' })
  const form = h('form', { id: 'check-form' }, field('Card', cardInput('check-card')),
    field('Codes (up to 100, one a line)', h('textarea', { name: 'codes', required: true })), button, line, out)
  form.addEventListener('submit', busy(button, line, async () => {
    const v = formValues(form)
    const codes = lines(v.codes)
    if (codes.length > 100) throw new Error('at most 100 codes at a time')
    const r = await api('POST', `/v1/admin/cards/${encodeURIComponent(v.card_id)}/codes/check`, { body: { codes } })
    clear(out, facts([['WeChat holds', (r.exist_code || []).join(', ') || 'none'], ['unknown to WeChat', (r.not_exist_code || []).join(', ') || 'none']]))
    say(line, '')
  }))
  return section('Check codes', form)
}
