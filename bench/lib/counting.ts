/**
 * A KvStore wrapper that counts round trips and keys, so every registry row can say how much
 * storage work one operation does (and show that it does not grow with the registry).
 */
import { type StoreCounts, countingStore, zeroCounts } from '../../src/storage/counting.js'

export { countingStore, zeroCounts }
export type Counts = StoreCounts

/** `a - b`, divided by `ops`. */
export function perOp(a: Counts, b: Counts, ops: number): Counts {
  const d = (k: keyof Counts) => (ops > 0 ? (a[k] - b[k]) / ops : Number.NaN)
  return {
    reads: d('reads'),
    keysRead: d('keysRead'),
    commits: d('commits'),
    conflicts: d('conflicts'),
    keysChecked: d('keysChecked'),
    keysWritten: d('keysWritten'),
    bytesWritten: d('bytesWritten'),
  }
}
