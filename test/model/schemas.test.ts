import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { BackupDocumentSchema, ManifestSchema } from 'appr-core'

const backup1 = JSON.parse(readFileSync(new URL('../registry/fixtures/backup1.json', import.meta.url), 'utf8'))

test('backup1.json parses: metadata absent becomes null, urls default to []', () => {
  const doc = BackupDocumentSchema.parse(backup1)
  assert.is(doc.packages.length, 4)
  assert.is(doc.packages[0]!.metadata, null)
  assert.equal(doc.packages[0]!.content.urls, [])
  assert.equal(doc.channels.map((c) => c.name), ['dev', 'stable'])
})

test('a manifest keeps metadata JSON and rejects a non-hex digest', () => {
  const m = { package: 'a/b', release: '1.0.0', mediaType: 'x', content: { mediaType: 'y', size: 1, digest: 'a'.repeat(64) }, metadata: { k: [1] }, created_at: 'now' }
  assert.equal(ManifestSchema.parse(m).metadata, { k: [1] })
  assert.is(ManifestSchema.safeParse({ ...m, content: { ...m.content, digest: 'XYZ' } }).success, false)
})

test.run()
