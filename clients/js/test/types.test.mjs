// openapi.d.ts is derived from openapi/openapi.json; a drift fails here.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { generated, OUT_PATH, SPEC_PATH } from '../scripts/gen-types.mjs'

test('openapi.d.ts matches openapi/openapi.json (regenerate: node clients/js/scripts/gen-types.mjs)', () => {
  assert.equal(readFileSync(OUT_PATH, 'utf8'), generated())
})

test('every path the client calls is in the spec', () => {
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8'))
  const paths = Object.keys(spec.paths).map((p) => p.replace(/\{[^}]+\}/g, '{}'))
  const source = ['index.js', 'staff.js'].map((f) => readFileSync(new URL(`../${f}`, import.meta.url), 'utf8')).join('\n')
  const called = [...source.matchAll(/['`](\/v1\/[^'`?]*)/g)].map((m) => m[1].replace(/\$\{[^}]+\}/g, '{}'))
  assert.ok(called.length >= 16, `found ${called.length} paths`)
  for (const path of called) assert.ok(paths.includes(path), `${path} is not in openapi/openapi.json`)
})

test('the declarations compile, and a page using them type-checks (tsc --strict)', () => {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const tsc = `${root}node_modules/typescript/bin/tsc`
  assert.ok(existsSync(tsc), 'typescript is a devDependency: run `npm ci` in clients/js (.ci/run does)')
  const done = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8' })
  assert.equal(done.status, 0, done.stdout + done.stderr)
})
