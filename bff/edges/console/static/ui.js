// Small DOM helpers: every text goes in through textContent, never parsed as HTML.

/** h('div', {class: 'x', onclick: f, 'data-testid': 'y'}, child, 'text', [more]) */
export function h (tag, props = {}, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (k === 'class') el.className = v
    else if (k === 'text') el.textContent = v
    else if (k === 'value' && tag !== 'input') el.value = v // inputs keep it as their default (reset)
    else el.setAttribute(k, v === true ? '' : v)
  }
  append(el, children)
  return el
}

function append (el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
}

export function $ (selector, root = document) { return root.querySelector(selector) }

export function clear (el, ...children) {
  el.textContent = ''
  append(el, children)
  return el
}

/** A labelled control: field('Title', h('input', {name: 'title'})) */
export function field (label, control, hint) {
  return h('label', { class: 'field' }, h('span', { text: label }), control,
    hint ? h('small', { class: 'muted', text: hint }) : null)
}

export function input (name, props = {}) {
  return h('input', { name, id: props.id || name, autocomplete: 'off', ...props })
}

export function select (name, options, props = {}) {
  return h('select', { name, id: props.id || name, ...props },
    options.map((o) => Array.isArray(o) ? h('option', { value: o[0], text: o[1] }) : h('option', { value: o, text: o })))
}

export function section (title, ...children) {
  return h('section', { class: 'panel' }, h('h2', { text: title }), ...children)
}

/** A table: columns [{title, get(row) -> Node|string}]; a data-key per row when `key` is given. */
export function table (columns, rows, { key, empty = 'Nothing yet.', testid } = {}) {
  if (!rows.length) return h('p', { class: 'muted', text: empty, 'data-testid': testid })
  return h('div', { class: 'scroll' }, h('table', { 'data-testid': testid },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { text: c.title })))),
    h('tbody', {}, rows.map((r) => h('tr', key ? { 'data-key': key(r) } : {},
      columns.map((c) => h('td', { 'data-col': c.title }, fmt(c.get(r)))))))))
}

function fmt (v) {
  if (v === undefined || v === null) return '—'
  return v instanceof Node ? v : String(v)
}

/** Facts as a definition list; each value carries data-fact="<name>". */
export function facts (rows) {
  return h('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [h('dt', { text: k }),
    h('dd', { 'data-fact': k }, fmt(v))]))
}

/** A status line: kind is ok, error or busy. */
export function say (el, text, kind = 'ok') {
  el.textContent = text
  el.className = `status ${kind}`
  el.hidden = !text
}

export function status () {
  return h('p', { class: 'status', role: 'status', 'aria-live': 'polite', hidden: true })
}

/** What a person reads for a failed call: the role refusal said plainly. */
export function reason (e) {
  if (e && e.status === 403) return `Not allowed for your role: ${e.message}`
  if (e && e.status) return `${e.status}: ${e.message}`
  return (e && e.message) || String(e)
}

export function when (epochSeconds) {
  if (epochSeconds === undefined || epochSeconds === null) return null
  return new Date(epochSeconds * 1000).toLocaleString()
}

/** Runs `work` with the button disabled; a failure is said in `line`. */
export function busy (button, line, work) {
  return async (event) => {
    if (event) event.preventDefault()
    button.disabled = true
    say(line, 'Working…', 'busy')
    try {
      await work()
    } catch (e) {
      say(line, reason(e), 'error')
    } finally {
      button.disabled = false
    }
  }
}

/**
 * A form that looks something up by one of several ids: a "By" choice among `options`
 * ([value, label] pairs), the value, and a button saying `label`. On submit,
 * `find(by, value)` runs (busy). `ids` names the parts: { form, by, value, button, out }.
 * Returns the form, its status line and the element for the answer.
 */
export function lookupForm (options, ids, label, find) {
  const by = select('by', options, { id: ids.by })
  const value = input('value', { id: ids.value, required: true })
  const button = h('button', { type: 'submit', id: ids.button }, label)
  const line = status()
  const out = h('div', { id: ids.out })
  const form = h('form', { id: ids.form }, h('div', { class: 'row' }, field('By', by), field('Value', value), button), line, out)
  form.addEventListener('submit', busy(button, line, () => {
    const v = formValues(form)
    return find(v.by, v.value)
  }))
  return { form, line, out }
}

export function formValues (form) {
  const out = {}
  for (const [k, v] of new FormData(form).entries()) if (typeof v === 'string') out[k] = v.trim()
  return out
}

export function lines (text) {
  return [...new Set(text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean))]
}

export function downloadBlob (filename, blob) {
  const url = URL.createObjectURL(blob)
  const a = h('a', { href: url, download: filename, hidden: true })
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10000)
}

/** CSV (RFC 4180) of rows by columns [[header, get(row)]]; cells that a spreadsheet would run
 * as a formula get a leading apostrophe. */
export function csv (columns, rows) {
  const cell = (v) => {
    let s = v === undefined || v === null ? '' : String(v)
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  const out = [columns.map((c) => cell(c[0])).join(',')]
  for (const r of rows) out.push(columns.map((c) => cell(c[1](r))).join(','))
  return out.join('\r\n') + '\r\n'
}

/** A Chart.js chart on a new canvas inside `holder` (the library is vendored, window.Chart). */
export function chart (holder, config, testid) {
  const canvas = h('canvas', { 'data-testid': testid, role: 'img', 'aria-label': testid })
  clear(holder, h('div', { class: 'chart' }, canvas))
  const made = new window.Chart(canvas, {
    ...config,
    options: { responsive: true, maintainAspectRatio: false, animation: false, ...(config.options || {}) }
  })
  return made
}

/** A <datalist id="card-ids"> of the catalogue's card ids (for card_id inputs: list="card-ids"). */
export async function cardIdList (api) {
  const list = h('datalist', { id: 'card-ids' })
  try {
    const { card_ids: ids } = await api('GET', '/v1/admin/cards', { query: { count: 50 } })
    for (const id of ids) list.append(h('option', { value: id }))
  } catch (e) { /* typing the card_id still works */ }
  return list
}
