#!/usr/bin/env node
// Derives clients/js/openapi.d.ts from openapi/openapi.json: one interface per component schema
// and an `Operations` map ("METHOD /path" -> path params, query, body, response).
//   node clients/js/scripts/gen-types.mjs           writes the file
//   node clients/js/scripts/gen-types.mjs --check   exits 1 when the file differs (drift)
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
export const SPEC_PATH = join(here, '..', '..', '..', 'openapi', 'openapi.json')
export const OUT_PATH = join(here, '..', 'openapi.d.ts')
const METHODS = ['get', 'post', 'put', 'patch', 'delete']

const refName = (ref) => ref.split('/').pop()
const key = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name))
const comment = (text, pad) =>
  text ? `${pad}/** ${String(text).replace(/\*\//g, '* /').replace(/\s*\n\s*/g, ' ')} */\n` : ''

function typeOf (schema, pad) {
  if (!schema) return 'unknown'
  let t
  if (schema.$ref) t = refName(schema.$ref)
  else if (schema.allOf) t = schema.allOf.map((s) => typeOf(s, pad)).join(' & ')
  // an object with its own properties: oneOf/anyOf beside them only constrain which are present
  else if ((schema.oneOf || schema.anyOf) && !schema.properties) {
    t = (schema.oneOf || schema.anyOf).map((s) => typeOf(s, pad)).join(' | ')
  }
  else if (schema.enum) t = schema.enum.map((v) => JSON.stringify(v)).join(' | ')
  else if (schema.type === 'array') t = `Array<${typeOf(schema.items, pad)}>`
  else if (schema.type === 'integer' || schema.type === 'number') t = 'number'
  else if (schema.type === 'string') t = schema.format === 'binary' ? 'Blob' : 'string'
  else if (schema.type === 'boolean') t = 'boolean'
  else if (schema.type === 'object' || schema.properties) t = objectType(schema, pad)
  else t = 'unknown'
  return schema.nullable ? `${t} | null` : t
}

function objectType (schema, pad) {
  const props = schema.properties || {}
  const required = new Set(schema.required || [])
  const inner = pad + '  '
  const lines = Object.entries(props).map(([name, s]) =>
    comment(s.description, inner) + `${inner}${key(name)}${required.has(name) ? '' : '?'}: ${typeOf(s, inner)};\n`)
  const extra = schema.additionalProperties
  if (extra && extra !== false) {
    lines.push(`${inner}[key: string]: ${extra === true ? 'unknown' : typeOf(extra, inner)};\n`)
  }
  return lines.length ? `{\n${lines.join('')}${pad}}` : 'Record<string, never>'
}

function jsonSchemaOf (content) {
  if (!content) return undefined
  const json = content['application/json'] || Object.values(content)[0]
  return json && json.schema
}

function operationType (op, pathItem, pad) {
  const params = [...(pathItem.parameters || []), ...(op.parameters || [])]
  const part = (where) => {
    const ps = params.filter((p) => p.in === where)
    if (!ps.length) return 'never'
    return objectType({
      properties: Object.fromEntries(ps.map((p) => [p.name, { ...p.schema, description: p.description }])),
      required: ps.filter((p) => p.required).map((p) => p.name)
    }, pad + '  ')
  }
  const ok = Object.keys(op.responses || {}).filter((s) => /^2\d\d$/.test(s)).sort()[0]
  const response = ok ? jsonSchemaOf(op.responses[ok].content) : undefined
  const body = op.requestBody ? jsonSchemaOf(op.requestBody.content) : undefined
  const inner = pad + '  '
  return '{\n' +
    `${inner}path: ${part('path')};\n` +
    `${inner}query: ${part('query')};\n` +
    `${inner}body: ${body ? typeOf(body, inner) : 'never'};\n` +
    `${inner}response: ${response ? typeOf(response, inner) : 'void'};\n` +
    `${inner}status: ${ok || 'never'};\n` +
    `${pad}}`
}

export function generate (spec) {
  let out = '// Generated from openapi/openapi.json by clients/js/scripts/gen-types.mjs: do not edit.\n' +
    '// Regenerate after re-exporting the spec: node clients/js/scripts/gen-types.mjs\n\n' +
    `/** ${spec.info.title} ${spec.info.version} */\n\n`
  for (const [name, schema] of Object.entries(spec.components.schemas)) {
    out += comment(schema.description, '')
    const t = typeOf(schema, '')
    out += t.startsWith('{') ? `export interface ${name} ${t}\n\n` : `export type ${name} = ${t};\n\n`
  }
  out += '/** Every operation: "METHOD /path" -> its path parameters, query, JSON body and success answer. */\n'
  out += 'export interface Operations {\n'
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = item[method]
      if (!op) continue
      out += comment(op.summary, '  ')
      out += `  ${JSON.stringify(`${method.toUpperCase()} ${path}`)}: ${operationType(op, item, '  ')};\n`
    }
  }
  return out + '}\n'
}

export function generated () {
  return generate(JSON.parse(readFileSync(SPEC_PATH, 'utf8')))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = generated()
  if (process.argv.includes('--check')) {
    const current = readFileSync(OUT_PATH, 'utf8')
    if (current !== text) {
      console.error('clients/js/openapi.d.ts is out of date: run node clients/js/scripts/gen-types.mjs')
      process.exit(1)
    }
  } else {
    writeFileSync(OUT_PATH, text)
  }
}
