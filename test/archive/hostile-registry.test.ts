/**
 * Pushing (and restoring) a hostile archive through the Registry stores nothing: every key of
 * the store, with its value, is the same before and after.
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Registry, isApprError, listAll } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { type HostileArchive, makeHostileArchives, tarGz } from '../../scripts/make-hostile-archives.js'

let dir = ''
let corpus: HostileArchive[] = []

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'appr-hostile-reg-'))
  corpus = await makeHostileArchives(dir)
})
test.after(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function snapshot(store: ReturnType<typeof memoryStore>): Promise<string[]> {
  const out: string[] = []
  for await (const e of listAll(store, '')) out.push(`${e.key}=${Buffer.from(e.value).toString('base64')}`)
  return out
}

test('each hostile push is refused with its reason and leaves the store unchanged', async () => {
  const store = memoryStore()
  const registry = new Registry({ store, ownsStore: false })
  // Something already there, so "unchanged" is not trivially "empty".
  await registry.push({ package: 'acme/good', release: '1.0.0', format: 'helm', blob: tarGz([{ name: 'good/Chart.yaml', data: 'name: good\n' }]) })
  const before = await snapshot(store)
  assert.ok(before.length > 0)
  for (const archive of corpus) {
    for (const [label, blob] of [
      ['streamed', createReadStream(archive.file)],
      ['bytes', new Uint8Array(await readFile(archive.file))],
    ] as const) {
      try {
        await registry.push({ package: `evil/${archive.name}`, release: '1.0.0', format: 'helm', blob })
        assert.unreachable(`${archive.name} (${label}) was accepted`)
      } catch (e) {
        assert.ok(isApprError(e, archive.code), `${archive.name} (${label}): ${String(e)}`)
        assert.is(e.details.reason, archive.reason, `${archive.name} (${label})`)
      }
      assert.equal(await snapshot(store), before, `${archive.name} (${label}) changed the store`)
    }
  }
  await registry.close()
})

test.run()
