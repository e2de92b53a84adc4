import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { isApprError, isQuery, parseQuery, resolveQuery, sortReleasesDesc, compareReleases } from 'appr-core'

const releases = ['0.0.1', '1.0.0', '1.0.1', '1.2.0', '1.2.5', '1.10.0', '2.0.0-rc.1', '2.0.0-beta', '2.0.1', '3.0.0+build.7']

const cases: [string | undefined, string | undefined][] = [
  [undefined, '3.0.0+build.7'],
  ['default', '3.0.0+build.7'],
  ['>1.2', '3.0.0+build.7'],
  ['>1.2,<3', '2.0.1'],
  ['>=1.0,<2.0', '1.10.0'],
  ['>=1.0.0,<1.2.0', '1.0.1'],
  ['==1.2.0', '1.2.0'],
  ['1.2.0', '1.2.0'],
  ['1', '1.10.0'],
  ['1.2', '1.2.5'],
  ['1.2.x', '1.2.5'],
  ['*', '3.0.0+build.7'],
  ['!=3.0.0', '2.0.1'],
  ['<1.0', '0.0.1'],
  ['<=1.2', '1.2.5'],
  ['>1.2.0,<1.10.0', '1.2.5'],
  ['^1.2', '1.10.0'],
  ['^0.0.1', '0.0.1'],
  ['~1.2', '1.2.5'],
  ['~1', '1.10.0'],
  ['~=1.2', '1.10.0'],
  ['~=1.2.0', '1.2.5'],
  ['3.0.0', '3.0.0+build.7'], // build metadata ignored when matching
  ['>=2.0.0-a,<2.0.1', '2.0.0-rc.1'], // a '-' in the query admits pre-releases
  ['>=2.0.0,<2.0.1', undefined], // without it they are not candidates
  ['<2.0.0', '1.10.0'],
  ['2.0.0-beta', '2.0.0-beta'],
  ['>4', undefined],
  [' >=1.0 , <1.1 ', '1.0.1'],
]

for (const [query, expected] of cases) {
  test(`resolve ${JSON.stringify(query)} → ${expected}`, () => {
    assert.is(resolveQuery(query, releases), expected)
  })
}

for (const bad of ['abc', '>>1', '1.2.3.4', '>=', ',', '1,', 'v1.0.0', '01.2', '^*', '>1.x.3', '1.2-rc', 'a'.repeat(2000)]) {
  test(`malformed query ${JSON.stringify(bad.slice(0, 20))} → invalid-release`, () => {
    try {
      resolveQuery(bad, releases)
      assert.unreachable('should throw')
    } catch (e) {
      assert.ok(isApprError(e, 'invalid-release'), String(e))
    }
  })
}

test('isQuery tells exact releases from queries', () => {
  assert.is(isQuery('1.0.0'), false)
  assert.is(isQuery('1.0.0+b.1'), false)
  assert.is(isQuery('1.0'), true)
  assert.is(isQuery('>=1.0.0'), true)
  assert.is(isQuery('default'), false)
})

const semverArb = fc
  .tuple(fc.nat(20), fc.nat(20), fc.nat(20), fc.option(fc.constantFrom('alpha', 'beta.1', 'rc.2', '1'), { nil: undefined }))
  .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre}` : ''}`)

test('property: ==V of an exact stable release resolves to it, and the result always satisfies the query', () => {
  fc.assert(
    fc.property(fc.uniqueArray(semverArb, { minLength: 1, maxLength: 30 }), fc.constantFrom('>=', '<', '^', '~', '!=', '=='), (list, op) => {
      const pivot = list[0]!
      const q = parseQuery(`${op}${pivot}`)
      const hit = resolveQuery(`${op}${pivot}`, list)
      if (hit !== undefined) {
        assert.ok(q.matches(hit))
        for (const other of list) if (q.matches(other)) assert.ok(compareReleases(hit, other) >= 0)
      } else {
        assert.ok(list.every((r) => !q.matches(r)))
      }
      if (op === '==') assert.is(hit, pivot)
    }),
    { numRuns: 300 },
  )
})

test('property: sortReleasesDesc agrees with compareReleases', () => {
  fc.assert(
    fc.property(fc.array(semverArb, { maxLength: 40 }), (list) => {
      const sorted = sortReleasesDesc(list)
      for (let i = 1; i < sorted.length; i++) assert.ok(compareReleases(sorted[i - 1]!, sorted[i]!) >= 0)
    }),
  )
})

test.run()
