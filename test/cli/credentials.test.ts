/**
 * The stored logins on their own: one per registry whatever its spelling, forgetting one keeps
 * the others, the file stays private, and a damaged file is named rather than ignored.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { credentialsPath, forgetLogin, storedLogin, storeLogin } from '../../src/cli/credentials.js'

const dir = mkdtempSync(join(tmpdir(), 'appr-credentials-'))
const file = join(dir, 'appr-core', 'credentials.json')

test.after(() => rmSync(dir, { recursive: true, force: true }))

test('the file is under $XDG_CONFIG_HOME, else ~/.config', () => {
  assert.is(credentialsPath({ XDG_CONFIG_HOME: '/x/config' }), '/x/config/appr-core/credentials.json')
  assert.match(credentialsPath({ XDG_CONFIG_HOME: '' }), /\/\.config\/appr-core\/credentials\.json$/)
})

test('one login per registry, any spelling; forgetting one keeps the others; mode 0600', () => {
  storeLogin('http://a.example:5000', { token: 'ta', username: 'u' }, file)
  storeLogin('https://b.example/cnr', { token: 'tb' }, file)
  assert.equal(storedLogin('http://a.example:5000/cnr/api/v1', file), { token: 'ta', username: 'u' })
  assert.equal(storedLogin('https://b.example/', file), { token: 'tb' })
  assert.is(storedLogin('http://c.example', file), undefined)
  assert.is(statSync(file).mode & 0o777, 0o600)
  storeLogin('http://a.example:5000/cnr', { token: 'ta2' }, file)
  assert.equal(storedLogin('http://a.example:5000', file), { token: 'ta2' })
  assert.ok(forgetLogin('http://a.example:5000', file))
  assert.not.ok(forgetLogin('http://a.example:5000', file))
  assert.equal(storedLogin('https://b.example', file), { token: 'tb' })
  assert.equal(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { registries: object }).registries), ['https://b.example/cnr/api/v1'])
})

test('a damaged file is an error naming it, never an empty login list', () => {
  writeFileSync(file, '{"registries": ')
  assert.throws(() => storedLogin('http://a.example', file), (e: Error) => e.message === `${file} is not JSON: fix or delete it`)
  writeFileSync(file, '[]')
  assert.throws(() => storedLogin('http://a.example', file), /has no "registries" object/)
})

test.run()
