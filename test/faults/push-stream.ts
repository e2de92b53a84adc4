/**
 * A stream of Registry.push calls while a server restarts or a member dies, and the check that
 * follows: every push that reported success is there with its exact bytes, every failure is a
 * typed ApprError, a failure that says nothing was applied left no release behind, and the same
 * Registry works afterwards.
 */
import * as assert from 'uvu/assert'
import { isApprError, type Registry } from 'appr-core'
import { collect, tgz } from '../registry/helpers.js'

export interface PushOutcome {
  acked: { pkg: string; release: string; digest: string }[]
  failed: { pkg: string; release: string; code: string; applied: unknown }[]
  untyped: unknown[]
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Pushes `<tag>/w<writer>` releases 1.0.n (distinct small charts) until `stop` resolves. */
export async function pushStream(registry: Registry, tag: string, stop: Promise<unknown>, writers = 2): Promise<PushOutcome> {
  const out: PushOutcome = { acked: [], failed: [], untyped: [] }
  let done = false
  void stop.then(() => {
    done = true
  })
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const pkg = `${tag}/w${w}`
      for (let n = 0; !done; n++) {
        const release = `1.0.${n}`
        const blob = await tgz({ 'chart/Chart.yaml': `name: w${w}\nversion: ${release}\n` })
        try {
          const m = await registry.push({ package: pkg, release, format: 'helm', blob })
          out.acked.push({ pkg, release, digest: m.content.digest })
        } catch (e) {
          if (isApprError(e)) out.failed.push({ pkg, release, code: e.code, applied: e.details.applied })
          else out.untyped.push(e)
          await sleep(50)
        }
      }
    }),
  )
  return out
}

/** Asserts the guarantees of {@link pushStream} against the registry now. */
export async function verifyPushes(registry: Registry, outcome: PushOutcome): Promise<void> {
  assert.equal(outcome.untyped.map(String), [], 'every failure is a typed ApprError')
  for (const { pkg, release, digest } of outcome.acked) {
    const pulled = await registry.pull(pkg, { release, format: 'helm' })
    assert.is(pulled.manifest.content.digest, digest, `${pkg}@${release} is present`)
    await collect(pulled.stream)
  }
  for (const { pkg, release, applied } of outcome.failed) {
    if (applied === 'unknown') continue
    try {
      await registry.show(pkg, { release, format: 'helm' })
      assert.unreachable(`${pkg}@${release} failed but is present`)
    } catch (e) {
      assert.ok(isApprError(e, 'package-release-not-found') || isApprError(e, 'package-not-found'), `${pkg}@${release}: ${String(e)}`)
    }
  }
}

export function pushSummary(name: string, o: PushOutcome, ms: number): string {
  const codes = [...new Set(o.failed.map((f) => `${f.code}${f.applied === undefined ? '' : `(applied: ${String(f.applied)})`}`))].join(', ')
  return `${name}: ${o.acked.length} pushes acked, ${o.failed.length} failed [${codes}], ${o.untyped.length} untyped, ${ms} ms`
}
