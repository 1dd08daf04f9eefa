// openapi.d.ts is derived from openapi/openapi.json; a drift fails here.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

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
