// Copies the console's charting library (npm chart.js, pinned exactly in package.json) into
// bff/edges/console/static/vendor/, where it is committed: production needs only `pip install`.
// Run after changing the pinned version: `npm ci && node scripts/vendor-console.mjs`.
// tests/test_console.py checks that the committed copy is byte-identical to node_modules'.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies['chart.js']
const installed = JSON.parse(readFileSync(join(root, 'node_modules/chart.js/package.json'), 'utf8')).version
if (installed !== pinned) {
  console.error(`node_modules has chart.js ${installed}, package.json pins ${pinned}: run npm ci`)
  process.exit(1)
}
const vendor = join(root, 'bff/edges/console/static/vendor')
mkdirSync(vendor, { recursive: true })
for (const [from, to] of [['dist/chart.umd.min.js', 'chart.umd.min.js'], ['LICENSE.md', 'chart.js.LICENSE.md']]) {
  copyFileSync(join(root, 'node_modules/chart.js', from), join(vendor, to))
  console.log(`chart.js ${installed}: ${from} -> bff/edges/console/static/vendor/${to}`)
}
