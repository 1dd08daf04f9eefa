// Counter: a code typed or scanned (a scanner types it and Enter), queried, redeemed once.
// A second redemption of the code is refused by the service with when, where and by whom it
// was redeemed the first time; the page shows that.
import { api, newKey, LostAnswer } from '../api.js'
import { h, field, input, say, status, facts, clear, when, reason, section } from '../ui.js'

export function render (root, { operator }) {
  const code = input('code', { inputmode: 'text', required: true, class: 'big', placeholder: 'type or scan' })
  const location_ = input('location', { placeholder: 'e.g. store 12' })
  // An operator account's redemption is recorded under its name; only the break-glass token
  // names the person at the counter with a staff id.
  const staff = operator.name === 'break-glass' ? input('staff_id', { placeholder: 'who is at the counter' }) : null
  const query = h('button', { type: 'button', id: 'query', class: 'plain' }, 'Query')
  const redeem = h('button', { type: 'button', id: 'redeem' }, 'Redeem')
  const line = status()
  line.id = 'counter-status'
  const result = h('div', { id: 'result' })
  let pending = null // {code, key}: a redemption whose answer was lost is retried with its key

  function show (rows) { clear(result, facts(rows)) }

  query.addEventListener('click', async () => {
    const value = code.value.trim()
    if (!value) return code.focus()
    query.disabled = true
    try {
      const q = await api('POST', '/v1/admin/codes/query', { body: { code: value } })
      show([['card', q.card_id], ['code', q.code], ['status', q.user_card_status],
        ['can redeem', q.can_consume ? 'yes' : 'no'], ['valid from', when(q.begin_time)], ['valid to', when(q.end_time)]])
      say(line, q.can_consume ? 'The code can be redeemed' : 'The code cannot be redeemed', q.can_consume ? 'ok' : 'error')
    } catch (e) {
      clear(result)
      say(line, e.status === 409 ? `Cannot be redeemed: ${e.message}` : reason(e), 'error')
    } finally {
      query.disabled = false
    }
  })

  redeem.addEventListener('click', async () => {
    const value = code.value.trim()
    if (!value) return code.focus()
    if (!pending || pending.code !== value) pending = { code: value, key: newKey() }
    redeem.disabled = true
    say(line, 'Redeeming…', 'busy')
    try {
      const r = await api('POST', '/v1/admin/codes/redeem', {
        headers: { 'Idempotency-Key': pending.key },
        body: { code: value, staff_id: (staff && staff.value.trim()) || undefined, location: location_.value.trim() || undefined }
      })
      pending = null
      show([['card', r.card_id], ['code', r.code], ['redeemed at', when(r.redeemed_at)],
        ['by', r.operator || r.staff_id], ['location', r.location], ['channel', r.channel]])
      say(line, 'Redeemed', 'ok')
    } catch (e) {
      if (!(e instanceof LostAnswer) && !(e.status >= 500)) pending = null // a refusal is final
      if (e.status === 409) {
        clear(result, facts([['first redemption', e.message]]))
        say(line, 'Already redeemed: not redeemed again', 'error')
      } else {
        say(line, e instanceof LostAnswer ? `${e.message} (Redeem again retries the same redemption)` : reason(e), 'error')
      }
    } finally {
      redeem.disabled = false
    }
  })

  const scan = cameraScanner((value) => { code.value = value; query.click() })

  code.addEventListener('keydown', (e) => { if (e.key === 'Enter') query.click() })
  code.addEventListener('input', () => { clear(result); say(line, '') })

  root.append(section('Redeem a code',
    h('p', { class: 'muted', text: 'Type the code or scan it (a scanner types it and Enter), query it, then redeem it once.' }),
    field('Code', code),
    h('div', { class: 'row' }, staff ? field('Staff id', staff) : null, field('Location', location_)),
    h('div', { class: 'row' }, query, redeem, scan.button), scan.view, line, result))
  code.focus()
  return scan.stop
}

/** Scanning with the device's camera where the browser can read barcodes (BarcodeDetector:
 * Chrome on Android, for one); elsewhere a USB or Bluetooth scanner types the code. */
function cameraScanner (found) {
  const button = h('button', { type: 'button', class: 'plain', id: 'camera', hidden: !('BarcodeDetector' in window) || !navigator.mediaDevices }, 'Scan with the camera')
  const video = h('video', { class: 'camera', playsinline: true, muted: true })
  const view = h('div', { hidden: true }, video)
  let stream = null
  let running = false
  function stop () {
    running = false
    view.hidden = true
    if (stream) stream.getTracks().forEach((t) => t.stop())
    stream = null
  }
  button.addEventListener('click', async () => {
    if (running) return stop()
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } })
    } catch (e) {
      return
    }
    video.srcObject = stream
    await video.play()
    view.hidden = false
    running = true
    const detector = new window.BarcodeDetector()
    const look = async () => {
      if (!running) return
      const codes = await detector.detect(video).catch(() => [])
      if (codes.length) {
        stop()
        found(codes[0].rawValue.trim())
      } else requestAnimationFrame(look)
    }
    look()
  })
  return { button, view, stop }
}
