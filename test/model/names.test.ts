import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  contentMediaType,
  isApprError,
  manifestMediaType,
  parseChannelName,
  parseFormat,
  parsePackageName,
  parseRelease,
} from 'appr-core'

const throwsCode = (fn: () => unknown, code: string) => {
  try {
    fn()
  } catch (e) {
    assert.ok(isApprError(e), String(e))
    assert.is((e as { code: string }).code, code)
    return
  }
  assert.unreachable('expected a throw')
}

test('package names: two segments, Quay rule, case folded', () => {
  assert.equal(parsePackageName('titi/toot'), { namespace: 'titi', name: 'toot', full: 'titi/toot' })
  assert.equal(parsePackageName('Acme/NGINX').full, 'acme/nginx')
  assert.is(parsePackageName('a.b/c_d-e').full, 'a.b/c_d-e')
  for (const bad of ['toot', 'a/b/c', '/b', 'a/', './b', '../b', 'a/..', '-a/b', 'a b/c', `a/${'x'.repeat(256)}`, 'a/é']) {
    throwsCode(() => parsePackageName(bad), 'invalid-parameters')
  }
})

test('channel names follow the Quay tag rule and keep case', () => {
  assert.is(parseChannelName('Stable_1.x'), 'Stable_1.x')
  for (const bad of ['', '.hidden', '-x', 'a/b', 'x'.repeat(129)]) throwsCode(() => parseChannelName(bad), 'invalid-parameters')
})

test('releases are strict SemVer 2.0.0', () => {
  for (const ok of ['1.0.0', '0.0.1', '2.0.0-rc.1+build.5', '1.0.0+build.1', '10.20.30-alpha.beta']) assert.is(parseRelease(ok), ok)
  for (const bad of ['v1.0.0', '1.0', 'abc', '01.0.0', '1.0.0-', '=1.0.0', '', null, 1]) throwsCode(() => parseRelease(bad), 'invalid-release')
})

test('formats and media types in both directions, any vN', () => {
  assert.is(parseFormat('helm'), 'helm')
  assert.is(parseFormat('Docker-Compose'), 'docker-compose')
  assert.is(parseFormat('application/vnd.appr.package-manifest.helm.v0.json'), 'helm')
  assert.is(parseFormat('application/vnd.appr.package-manifest.kpm.v1.json'), 'kpm')
  assert.is(parseFormat('application/vnd.appr.package.helm.v7.tar+gzip'), 'helm')
  assert.is(parseFormat('application/vnd.cnr.package-manifest.kpm.v0.json'), 'kpm')
  assert.is(manifestMediaType('helm'), 'application/vnd.appr.package-manifest.helm.v0.json')
  assert.is(contentMediaType('helm'), 'application/vnd.appr.package.helm.v0.tar+gzip')
  for (const bad of ['', 'he lm', 'application/vnd.appr.package-manifest.helm.v0.tar+gzip', 'application/json', '.x']) {
    throwsCode(() => parseFormat(bad), 'invalid-parameters')
  }
})

test.run()
