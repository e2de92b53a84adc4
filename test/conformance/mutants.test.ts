// The suite's own power: it must fail every deliberately broken adapter in ./mutants. Prints,
// for each mutant, the property that caught it and how long that took.
import { test } from 'uvu'
import { checkBlobConformance, checkConformance } from 'appr-core/conformance'
import { blobMutants } from './mutants/blob-mutants.js'
import { mutants } from './mutants/index.js'

const rows: string[] = []

for (const mutant of mutants) {
  test(`catches ${mutant.name}`, async () => {
    const { name: _, bug: __, ...adapter } = mutant
    // Crash-point properties sample where a worker dies, so one seed can miss a narrow window
    // (file-store-split-writes did once in CI): a mutant must be caught within two seeds.
    let report = await checkConformance({ name: `mutant ${mutant.name}`, ...adapter, log: () => {} }, { bail: true })
    let caught = report.results.find((r) => r.status === 'failed')
    if (!caught) {
      report = await checkConformance({ name: `mutant ${mutant.name}`, ...adapter, log: () => {} }, { bail: true })
      caught = report.results.find((r) => r.status === 'failed')
    }
    rows.push(`${mutant.name.padEnd(30)} ${caught ? `${String(report.firstFailureMs).padStart(6)} ms  by ${caught.id}` : 'NOT CAUGHT'}  (seed ${report.seed})`)
    if (!caught) throw new Error(`the suite passed the broken adapter "${mutant.name}" (${mutant.bug}); seed ${report.seed}`)
    if (process.env.MUTANT_VERBOSE) console.log(String((caught.error as Error).message))
  })
}

for (const mutant of blobMutants) {
  test(`catches ${mutant.name}`, async () => {
    const { name: _, bug: __, ...store } = mutant
    // As above: blobs/crash-during-write samples where the writer dies (file-blobs-in-place slipped one seed in CI).
    let report = await checkBlobConformance({ name: `mutant ${mutant.name}`, ...store, log: () => {} }, { bail: true })
    let caught = report.results.find((r) => r.status === 'failed')
    if (!caught) {
      report = await checkBlobConformance({ name: `mutant ${mutant.name}`, ...store, log: () => {} }, { bail: true })
      caught = report.results.find((r) => r.status === 'failed')
    }
    rows.push(`${mutant.name.padEnd(30)} ${caught ? `${String(report.firstFailureMs).padStart(6)} ms  by ${caught.id}` : 'NOT CAUGHT'}  (seed ${report.seed})`)
    if (!caught) throw new Error(`the suite passed the broken blob store "${mutant.name}" (${mutant.bug}); seed ${report.seed}`)
    if (process.env.MUTANT_VERBOSE) console.log(String((caught.error as Error).message))
  })
}

test.after(() => {
  console.log(`\nmutant                         time-to-catch  property\n${rows.join('\n')}\n`)
})

test.run()
