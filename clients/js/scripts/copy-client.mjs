// Copy the client into a Mini Program: a Mini Program can only import files inside its own folder.
//   node clients/js/scripts/copy-client.mjs [dest]   (default: examples/miniprogram/lib/bff-client)
// The copy is verbatim (a test checks it equals the source); run this after changing the client.
// The runtime files only: no types, no staff.js (staff devices only), no testing.js (node only).
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const CLIENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..')
export const RUNTIME_FILES = ['index.js', 'errors.js', 'h5.js', 'request.js', 'storage.js', 'transport.js', 'wx.js']
export const EXAMPLE_COPY = join(CLIENT_DIR, '..', '..', 'examples', 'miniprogram', 'lib', 'bff-client')

export function copyClient (dest = EXAMPLE_COPY) {
  mkdirSync(dest, { recursive: true })
  for (const name of readdirSync(dest)) {
    if (!RUNTIME_FILES.includes(name)) rmSync(join(dest, name), { recursive: true })
  }
  for (const name of RUNTIME_FILES) copyFileSync(join(CLIENT_DIR, name), join(dest, name))
  return dest
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(`copied ${RUNTIME_FILES.join(', ')} to ${copyClient(process.argv[2] ? resolve(process.argv[2]) : EXAMPLE_COPY)}`)
}
