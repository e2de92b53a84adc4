// Values are bytes: they round-trip exactly through every read path, at every size up to 1 MiB
// (or the declared limit), and stored data never shares memory with a caller's buffer.
import fc from 'fast-check'
import { hex, keyArb, sameBytes, showKey, specialValues, valueArb } from '../arbitraries.js'
import type { Group } from '../harness.js'

/** 64 KiB and 1 MiB, and every power of two from 256 B with its neighbours, up to 1 MiB or `max`. */
export function largeValueSizes(max: number | undefined): number[] {
  const cap = Math.min(max ?? 1 << 20, 1 << 20)
  const sizes = new Set<number>([64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, (1 << 20) - 1, 1 << 20, cap - 1, cap])
  for (let p = 256; p <= 1 << 20; p *= 2) for (const size of [p - 1, p, p + 1]) sizes.add(size)
  return [...sizes].filter((n) => n > 0 && n <= cap).sort((a, b) => a - b)
}

/** `size` pseudo-random bytes (xorshift32 from `seed` and `size`): a truncated, padded or shuffled copy never matches. */
export function noise(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size)
  let x = (seed ^ Math.imul(size, 0x9e3779b1)) | 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return n
}

export const bytes: Group = {
  name: 'bytes',
  properties: [
    {
      id: 'bytes/round-trip',
      title: 'every value (empty, 0x00, 0xFF, invalid UTF-8) reads back byte-exact through get, getMany and list',
      async run(ctx) {
        await ctx.check(
          fc.asyncProperty(fc.uniqueArray(fc.tuple(keyArb(), valueArb(ctx.capabilities, 64)), { selector: ([k]) => k, minLength: 1, maxLength: 8 }), (pairs) =>
            ctx.withStore(async (store) => {
              const result = await store.commit({ puts: pairs.map(([key, value]) => ({ key, value })) })
              if (!result.ok) throw new Error('an unconditional commit reported a conflict')
              const many = await store.getMany(pairs.map(([k]) => k))
              const listed = new Map((await store.list({ prefix: '', limit: 1000 })).map((e) => [e.key, e.value]))
              for (const [i, [key, value]] of pairs.entries()) {
                const got = await store.get(key)
                if (!(got?.value instanceof Uint8Array)) throw new Error(`get(${showKey(key)}) returned no Uint8Array`)
                for (const [how, bytes] of [['get', got.value], ['getMany', many[i]?.value], ['list', listed.get(key)]] as const) {
                  if (!sameBytes(bytes, value)) throw new Error(`${how}(${showKey(key)}) returned ${hex(bytes)}, stored ${hex(value)}`)
                }
                if (got.key !== key || many[i]?.key !== key) throw new Error(`entry for ${showKey(key)} reports another key`)
              }
            }),
          ),
          100,
        )
      },
    },
    {
      id: 'bytes/large-values',
      title: 'values around 64 KiB, 1 MiB and every power of two (±1) up to 1 MiB or maxValueBytes read back whole through get, getMany and list',
      async run(ctx) {
        const store = await ctx.open()
        const sizes = largeValueSizes(ctx.capabilities.maxValueBytes)
        for (const size of sizes) {
          const key = `large/${String(size).padStart(8, '0')}`
          const value = noise(size, ctx.settings.seed)
          await store.commit({ puts: [{ key, value }] })
          const [got, [many], [listed]] = await Promise.all([store.get(key), store.getMany([key]), store.list({ prefix: key, limit: 1 })])
          for (const [how, e] of [['get', got], ['getMany', many], ['list', listed]] as const) {
            if (!sameBytes(e?.value, value)) {
              const at = e === undefined ? 0 : firstDifference(e.value, value)
              throw ctx.failure(`${how}(${showKey(key)}): a value of ${size} bytes read back as ${e === undefined ? 'absent' : `${e.value.length} bytes, first difference at byte ${at}`} (truncated or rewritten by the backend?)`)
            }
          }
          // Keep the store small: the next size replaces this one.
          await store.commit({ deletes: [key] })
        }
      },
    },
    {
      id: 'bytes/no-aliasing',
      title: 'mutating a buffer after commit, or a value returned by get/getMany/list, changes nothing stored',
      async run(ctx) {
        const store = await ctx.open()
        // A view into a larger buffer: adapters that store `value.buffer` keep the neighbours too.
        const backing = new Uint8Array([9, 9, 1, 2, 3, 9, 9])
        const view = backing.subarray(2, 5)
        const plain = new Uint8Array(specialValues[3]!)
        await store.commit({ puts: [{ key: 'view', value: view }, { key: 'plain', value: plain }] })
        backing.fill(7)
        plain.fill(7)
        const expect = async (what: string) => {
          const [v, p] = [await store.get('view'), await store.get('plain')]
          const [mv, mp] = await store.getMany(['view', 'plain'])
          if (!sameBytes(mv?.value, v?.value) || !sameBytes(mp?.value, p?.value)) throw ctx.failure(`${what}: get and getMany disagree`)
          if (!sameBytes(v?.value, new Uint8Array([1, 2, 3]))) throw ctx.failure(`${what}: 'view' reads ${hex(v?.value)}, stored 010203`)
          if (!sameBytes(p?.value, specialValues[3])) throw ctx.failure(`${what}: 'plain' reads ${hex(p?.value)}, stored ${hex(specialValues[3])}`)
        }
        await expect('after mutating the committed buffers')
        ;(await store.get('view'))?.value.fill(0)
        await expect('after mutating a value returned by get')
        for (const e of await store.getMany(['view', 'plain'])) e?.value.fill(0)
        await expect('after mutating values returned by getMany')
        for (const e of await store.list({ prefix: '' })) e.value.fill(0)
        await expect('after mutating values returned by list')
      },
    },
  ],
}
