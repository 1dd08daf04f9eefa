// The console's frame: the session (sign in, who is signed in, sign out), the navigation the
// role may use, and the sections, one ES module each under pages/ (#/cards, #/counter, ...).
import { api, useSession, forgetSession } from './api.js'
import { $, h, clear, field, say, status, reason } from './ui.js'

// Which sections each role is shown. The service decides what a role may do (403 otherwise);
// this only keeps the navigation to what the role can use.
export const SECTIONS = [
  { id: 'counter', title: 'Counter', roles: ['staff', 'admin'] },
  { id: 'cards', title: 'Cards', roles: ['marketing', 'admin'] },
  { id: 'issuing', title: 'Issuing', roles: ['marketing', 'admin'] },
  { id: 'codes', title: 'Codes', roles: ['marketing', 'admin'] },
  { id: 'members', title: 'Members', roles: ['marketing', 'admin'] },
  { id: 'stats', title: 'Statistics', roles: ['marketing', 'admin'] },
  { id: 'events', title: 'Events', roles: ['marketing', 'admin'] },
  { id: 'identities', title: 'Identities', roles: ['admin'] },
  { id: 'audit', title: 'Audit', roles: ['admin'] }
]

const main = $('#main')
let session = null
let leave = null // the current section's clean-up (stops polling)

function sectionsFor (role) {
  return SECTIONS.filter((s) => s.roles.includes(role))
}

function showSignIn (message) {
  session = null
  forgetSession()
  stopSection()
  clear($('#nav'))
  $('#who').hidden = true
  $('#menu').hidden = true
  // The token is typed into this form only; it is posted in a JSON body, never put in a URL,
  // and the form is removed from the page once the session is open.
  const token = h('input', { type: 'password', name: 'token', id: 'token', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'sign-in-help' })
  const line = status()
  const button = h('button', { type: 'submit', id: 'sign-in' }, 'Sign in')
  const form = h('form', { id: 'sign-in-form', class: 'panel narrow', method: 'post', action: '/console/' },
    h('h1', { text: 'Sign in' }),
    h('p', { class: 'muted', id: 'sign-in-help', text: 'Paste your operator token (from `bff operators add`). It opens a session on this browser; the console does not keep the token.' }),
    field('Operator token', token), button, line)
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    button.disabled = true
    say(line, 'Signing in…', 'busy')
    try {
      const opened = await api('POST', '/v1/admin/session', { body: { token: token.value.trim() } })
      token.value = ''
      form.remove()
      start(opened)
    } catch (e) {
      token.value = ''
      say(line, e.status === 401 ? 'That token is not valid.' : reason(e), 'error')
      button.disabled = false
      token.focus()
    }
  })
  clear(main, message ? h('p', { class: 'status error', id: 'signed-out', text: message }) : null, form)
  token.focus()
}

function start (opened) {
  session = opened
  useSession(opened.csrf_token, (why) => showSignIn(why))
  $('#operator').textContent = opened.operator.name
  $('#role').textContent = opened.operator.role
  $('#who').title = `The session ends after ${Math.round(opened.idle_timeout / 60)} min without use`
  $('#who').hidden = false
  $('#menu').hidden = false
  clear($('#nav'), sectionsFor(opened.operator.role).map((s) =>
    h('a', { href: `#/${s.id}`, 'data-section': s.id, text: s.title })))
  route()
}

function stopSection () {
  if (leave) leave()
  leave = null
}

async function route () {
  if (!session) return
  const [id, ...rest] = location.hash.replace(/^#\/?/, '').split('/')
  const allowed = sectionsFor(session.operator.role)
  const wanted = SECTIONS.find((s) => s.id === id)
  if (!wanted) {
    location.replace(`#/${allowed[0] ? allowed[0].id : 'counter'}`)
    return
  }
  stopSection()
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.section === id)
  $('#nav').classList.remove('open')
  const root = h('div', { class: 'section', id: `section-${id}`, 'data-section': id }, h('h1', { text: wanted.title }))
  clear(main, root)
  document.title = `${wanted.title} · bff console`
  try {
    const module = await import(`./pages/${id}.js`)
    leave = (await module.render(root, { operator: session.operator, params: rest.map(decodeURIComponent) })) || null
  } catch (e) {
    root.append(h('p', { class: 'status error', text: reason(e) }))
  }
}

$('#sign-out').addEventListener('click', async () => {
  try {
    await api('DELETE', '/v1/admin/session')
  } finally {
    showSignIn('Signed out.')
  }
})

$('#menu').addEventListener('click', () => {
  const nav = $('#nav')
  nav.classList.toggle('open')
  $('#menu').setAttribute('aria-expanded', String(nav.classList.contains('open')))
})

window.addEventListener('hashchange', route)

try {
  start(await api('GET', '/v1/admin/session'))
} catch (e) {
  showSignIn(e.status === 401 ? '' : reason(e))
}
