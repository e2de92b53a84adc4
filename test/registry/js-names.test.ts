/**
 * Names that are JavaScript's own property names (`constructor`, `__proto__`, `toString`, …) are
 * names like any other: every name-taking operation stores, finds, lists, backs up and forgets
 * them exactly as it does `stable` or `helm`, and never reads Object.prototype instead.
 */
import fc from 'fast-check'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isApprError, parseChannelName, parseFormat, Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { tgz } from './helpers.js'

const SPECIAL = [
  ...Object.getOwnPropertyNames(Object.prototype),
  ...Object.getOwnPropertyNames(Function.prototype),
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  'prototype',
  'then',
  'toJSON',
  'length',
  'caller',
  'arguments',
]
const valid = (parse: (s: string) => unknown) => (s: string) => {
  try {
    parse(s)
    return true
  } catch {
    return false
  }
}
const FORMATS = [...new Set(SPECIAL.map((s) => s.toLowerCase()).filter(valid(parseFormat)))]
const CHANNELS = [...new Set(SPECIAL.filter(valid(parseChannelName)))]
const SEGMENTS = [...new Set(SPECIAL.map((s) => s.toLowerCase()).filter((s) => /^[a-z0-9][a-z0-9._-]*$/.test(s)))]

/** The ApprError code of a rejected call (fails on anything but an ApprError). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (error) {
    if (isApprError(error)) return error.code
    throw error
  }
  return 'ok'
}

test('the special names are there to test', () => {
  assert.ok(FORMATS.includes('constructor'))
  assert.ok(CHANNELS.includes('__proto__') && CHANNELS.includes('hasOwnProperty') && CHANNELS.includes('toString'))
  assert.ok(SEGMENTS.includes('constructor') && SEGMENTS.includes('tostring'))
})

test('property: special names as package, format and channel work in every name-taking operation', async () => {
  const blobA = await tgz({ 'a/Chart.yaml': 'name: a\nversion: 1.0.0\n' })
  const blobB = await tgz({ 'b/Chart.yaml': 'name: b\nversion: 1.1.0\n' })
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...SEGMENTS),
      fc.constantFrom(...FORMATS, 'helm'),
      fc.constantFrom(...FORMATS),
      fc.constantFrom(...CHANNELS),
      async (segment, format, absentFormat, channel) => {
        const registry = new Registry({ store: memoryStore() })
        const pkg = `${segment}/${segment}`
        await registry.push({ package: pkg, release: '1.0.0', format, blob: blobA, metadata: { [channel]: 1 } })
        await registry.push({ package: pkg, release: '1.1.0', format: 'kpm', blob: blobB })
        const shown = await registry.show(pkg, { release: '1.0.0', format })
        assert.is(shown.release, '1.0.0')
        assert.is(JSON.stringify(shown.metadata), JSON.stringify({ [channel]: 1 }))
        assert.is((await registry.pull(pkg, { release: 'default', format, formatAware: true })).manifest.release, '1.0.0')
        assert.equal((await registry.manifests(pkg, '1.0.0')).length, 1)
        assert.equal(await registry.search(segment), [pkg])

        // A format the package lacks is absent, however it is spelled.
        if (absentFormat !== format) {
          assert.is(await codeOf(registry.show(pkg, { release: '1.0.0', format: absentFormat })), 'package-not-found')
          assert.is(await codeOf(registry.delete(pkg, '1.0.0', absentFormat)), 'package-not-found')
          assert.equal((await registry.list({ format: absentFormat })).packages, [])
          assert.equal(await registry.releases(pkg, { format: absentFormat }), [])
        }
        assert.equal(
          (await registry.list({ format })).packages.map((p) => p.name),
          [pkg],
        )

        // Channels: absent until added; then stored, listed, shown, backed up, restored.
        assert.is(await codeOf(registry.channels.show(pkg, channel)), 'channel-not-found')
        assert.is(await codeOf(registry.channels.delete(pkg, channel)), 'channel-not-found')
        assert.is(await codeOf(registry.channels.remove(pkg, channel, '1.0.0')), 'channel-not-found')
        assert.equal(await registry.channels.ofRelease(pkg, '1.0.0'), [])
        await registry.channels.add(pkg, channel, '1.0.0')
        assert.equal(
          (await registry.channels.list(pkg)).map((c) => c.name),
          [channel],
        )
        assert.equal(await registry.channels.show(pkg, channel), { name: channel, current: '1.0.0', releases: ['1.0.0'] })
        assert.equal(await registry.channels.ofRelease(pkg, '1.0.0'), [channel])
        assert.equal((await registry.show(pkg, { release: '1.0.0', format })).channels, [channel])
        const doc = await registry.backup()
        assert.equal(doc.channels, [{ package: pkg, name: channel, current: '1.0.0' }])
        const copy = new Registry({ store: memoryStore() })
        await copy.restore(JSON.parse(JSON.stringify(doc)))
        assert.equal(await copy.channels.list(pkg), await registry.channels.list(pkg))
        assert.equal(await copy.releases(pkg), await registry.releases(pkg))

        // The channel follows deletes: its only release goes, so does the channel.
        await registry.channels.add(pkg, channel, '1.1.0')
        await registry.channels.remove(pkg, channel, '1.1.0')
        assert.equal(await registry.channels.show(pkg, channel), { name: channel, current: '1.0.0', releases: ['1.0.0'] })
        await registry.delete(pkg, '1.0.0', format)
        assert.equal(await registry.channels.list(pkg), [])
        assert.is(await codeOf(registry.channels.show(pkg, channel)), 'channel-not-found')
        assert.equal((await registry.backup()).channels, [])
        await copy.channels.delete(pkg, channel)
        assert.equal(await copy.channels.list(pkg), [])
        assert.equal((await copy.backup()).channels, [])
      },
    ),
    { numRuns: 60 },
  )
})

test.run()
