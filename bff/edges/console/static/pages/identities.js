// Identities: which unionid, Mini Program openid and Official Account openid are linked, and
// removing a wrong link (that openid no longer maps to the others).
import { api } from '../api.js'
import { h, section, say, facts, clear, busy, lookupForm, reason } from '../ui.js'

export async function render (root) {
  const options = [['mp_openid', 'Mini Program openid'], ['oa_openid', 'Official Account openid'], ['unionid', 'unionid']]
  const ids = { form: 'identity-form', by: 'identity-by', value: 'identity-value', button: 'find-identity', out: 'identity' }
  const { form, line, out } = lookupForm(options, ids, 'Look up', async (by, value) => {
    let found
    try {
      found = await api('GET', '/v1/admin/identities', { query: { [by]: value } })
    } catch (e) {
      clear(out)
      return say(line, e.status === 404 ? 'No identity has that id.' : reason(e), 'error')
    }
    say(line, '')
    draw(found)
  })

  function draw (found) {
    clear(out, facts([['unionid', found.unionid], ['Mini Program openid', found.miniprogram_openid],
      ['Official Account openid', found.official_account_openid], ['linked by', found.linked_by]]),
    found.miniprogram_openid ? unlink('mp_openid', found.miniprogram_openid, 'Remove the Mini Program openid\'s link') : null,
    found.official_account_openid ? unlink('oa_openid', found.official_account_openid, 'Remove the Official Account openid\'s link') : null)
  }

  /** Two steps (no browser dialog): the first click asks, the second removes. */
  function unlink (param, id, text) {
    const button = h('button', { type: 'button', class: 'danger', 'data-unlink': param }, text)
    let armed = false
    button.addEventListener('click', busy(button, line, async () => {
      if (!armed) {
        armed = true
        button.textContent = `Confirm: unlink ${id}`
        return say(line, 'Click again to remove the link.', 'busy')
      }
      await api('DELETE', '/v1/admin/identities', { query: { [param]: id } })
      button.remove()
      say(line, `Removed: ${id} is no longer linked to the others.`, 'ok')
    }))
    return button
  }

  root.append(section('Look up a link', form))
}
