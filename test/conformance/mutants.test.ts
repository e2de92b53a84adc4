// The suite's own power: it must fail every deliberately broken adapter in ./mutants. Prints,
// for each mutant, the property that caught it and how long that took.
import { test } from 'uvu'
import { checkBlobConformance, checkConformance } from 'appr-core/conformance'
import { blobMutants } from './mutants/blob-mutants.js'
import { mutants } from './mutants/index.js'

const rows: string[] = []

type Report = Awaited<ReturnType<typeof checkConformance>>

/**
 * Registers one mutant's test. Crash-point properties sample where a worker dies, so one seed can
 * miss a narrow window (file-store-split-writes and file-blobs-in-place each did once in CI): a
 * mutant must be caught within two seeds.
 */
function mustCatch(name: string, what: string, check: () => Promise<Report>): void {
  test(`catches ${name}`, async () => {
    let report = await check()
    let caught = report.results.find((r) => r.status === 'failed')
    if (!caught) {
      report = await check()
      caught = report.results.find((r) => r.status === 'failed')
    }
    rows.push(`${name.padEnd(30)} ${caught ? `${String(report.firstFailureMs).padStart(6)} ms  by ${caught.id}` : 'NOT CAUGHT'}  (seed ${report.seed})`)
    if (!caught) throw new Error(`the suite passed the ${what}; seed ${report.seed}`)
    if (process.env.MUTANT_VERBOSE) console.log(String((caught.error as Error).message))
  })
}

for (const { name, bug, ...adapter } of mutants) {
  mustCatch(name, `broken adapter "${name}" (${bug})`, () => checkConformance({ name: `mutant ${name}`, ...adapter, log: () => {} }, { bail: true }))
}

for (const { name, bug, ...store } of blobMutants) {
  mustCatch(name, `broken blob store "${name}" (${bug})`, () => checkBlobConformance({ name: `mutant ${name}`, ...store, log: () => {} }, { bail: true }))
}

test.after(() => {
  console.log(`\nmutant                         time-to-catch  property\n${rows.join('\n')}\n`)
})

test.run()
