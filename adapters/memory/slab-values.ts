/**
 * The memory store's values and versions, packed so that a stored key costs the garbage
 * collector almost nothing.
 *
 * Keeping each value as its own `Uint8Array` (plus a `{ value, version }` object and a version
 * string) left ~5 heap objects and one off-heap ArrayBuffer per key: at 100k packages (~700k
 * keys) every major GC marked millions of objects and swept ~500k ArrayBuffer extensions, so
 * per-op cost rose as the store filled. Here a value is a range of a large shared slab, and a
 * key's slot is a small integer indexing typed arrays (slab, offset, length, version): a stored
 * key adds no heap object of its own (the key string aside).
 *
 * Reads copy out of the slab and writes copy into it, so no caller ever holds bytes the store
 * keeps. Space freed by overwrites and deletes is reclaimed by compaction: once less than half of
 * a full slab is live, its live values move to the current slab and the slab is dropped (each
 * moved byte is paid for by at least one freed byte, so the work stays proportional to writes).
 * @module
 */

/** Bytes of one shared slab by default. Values above a quarter of a slab get a slab of their own. */
const SLAB = 1 << 20

/** A growable list of int32 pairs (slot, offset): which values were placed in a slab. */
class Placements {
  data = new Int32Array(64)
  size = 0
  add(slot: number, offset: number): void {
    if (this.size + 2 > this.data.length) {
      const grown = new Int32Array(this.data.length * 2)
      grown.set(this.data)
      this.data = grown
    }
    this.data[this.size++] = slot
    this.data[this.size++] = offset
  }
}

interface Slab {
  readonly bytes: Uint8Array
  /** Bytes handed out (the next value goes at `used`). */
  used: number
  /** Bytes of values still stored here. */
  live: number
  /** Every value placed here, as (slot, offset); stale pairs are skipped by checking the slot. */
  readonly placements: Placements
}

/** Values and versions by slot number; see the module comment. */
export class SlabValues {
  readonly #slabBytes: number
  readonly #big: number
  #slabs: (Slab | undefined)[] = []
  #freeSlabs: number[] = []
  #current = -1
  // Per slot: slab id (-1: free slot), offset, length, version (a counter: exact in a double up to 2^53).
  #slab = new Int32Array(1024).fill(-1)
  #offset = new Int32Array(1024)
  #length = new Float64Array(1024) // a value of its own slab may exceed 2 GiB
  #version = new Float64Array(1024)
  #freeSlots: number[] = []
  #nextSlot = 0

  /** @param slabBytes Bytes of a shared slab (small in tests, so that compaction runs often). */
  constructor(slabBytes = SLAB) {
    this.#slabBytes = slabBytes
    this.#big = slabBytes >>> 2
  }

  /** Stores a copy of `bytes` under a new slot, with `version`; returns the slot. */
  add(bytes: Uint8Array, version: number): number {
    let slot = this.#freeSlots.pop()
    if (slot === undefined) {
      slot = this.#nextSlot++
      if (slot === this.#slab.length) this.#grow()
    }
    this.#place(slot, bytes)
    this.#version[slot] = version
    return slot
  }

  /** Replaces the value of `slot` with a copy of `bytes`, and its version. */
  set(slot: number, bytes: Uint8Array, version: number): void {
    this.#release(slot)
    this.#place(slot, bytes)
    this.#version[slot] = version
  }

  /** Frees `slot` and its bytes. */
  free(slot: number): void {
    this.#release(slot)
    this.#slab[slot] = -1
    this.#freeSlots.push(slot)
  }

  /** A fresh copy of the value of `slot` (never a view of the slab). */
  read(slot: number): Uint8Array {
    const offset = this.#offset[slot]!
    return this.#slabs[this.#slab[slot]!]!.bytes.slice(offset, offset + this.#length[slot]!)
  }

  version(slot: number): number {
    return this.#version[slot]!
  }

  /** Slabs holding bytes (for tests: compaction must keep this bounded by the live data). */
  get slabCount(): number {
    return this.#slabs.length - this.#freeSlabs.length
  }

  #grow(): void {
    const n = this.#slab.length * 2
    const slab = new Int32Array(n).fill(-1)
    slab.set(this.#slab)
    this.#slab = slab
    const offset = new Int32Array(n)
    offset.set(this.#offset)
    this.#offset = offset
    const length = new Float64Array(n)
    length.set(this.#length)
    this.#length = length
    const version = new Float64Array(n)
    version.set(this.#version)
    this.#version = version
  }

  #newSlab(size: number): number {
    const slab: Slab = { bytes: new Uint8Array(size), used: 0, live: 0, placements: new Placements() }
    const id = this.#freeSlabs.pop()
    if (id === undefined) {
      this.#slabs.push(slab)
      return this.#slabs.length - 1
    }
    this.#slabs[id] = slab
    return id
  }

  /** Copies `bytes` into a slab with room and points `slot` at them. */
  #place(slot: number, bytes: Uint8Array): void {
    const n = bytes.byteLength
    let id: number
    if (n > this.#big) {
      id = this.#newSlab(n)
    } else {
      if (this.#current < 0 || this.#slabs[this.#current]!.used + n > this.#slabBytes) {
        const previous = this.#current
        this.#current = this.#newSlab(this.#slabBytes)
        // The slab just closed may already be mostly garbage.
        if (previous >= 0) this.#maybeCompact(previous)
      }
      id = this.#current
    }
    const slab = this.#slabs[id]!
    const offset = slab.used
    slab.bytes.set(bytes, offset)
    slab.used += n
    slab.live += n
    slab.placements.add(slot, offset)
    this.#slab[slot] = id
    this.#offset[slot] = offset
    this.#length[slot] = n
  }

  /** Marks the bytes of `slot` as garbage. */
  #release(slot: number): void {
    const id = this.#slab[slot]!
    const slab = this.#slabs[id]!
    slab.live -= this.#length[slot]!
    this.#slab[slot] = -1
    this.#maybeCompact(id)
  }

  /** Drops slab `id` when less than half of it is live, moving what is live to the current slab. */
  #maybeCompact(id: number): void {
    const slab = this.#slabs[id]!
    if (id === this.#current || slab.live * 2 >= slab.used) return
    const { data, size } = slab.placements
    for (let k = 0; k < size; k += 2) {
      const slot = data[k]!
      const offset = data[k + 1]!
      // A pair is stale once its slot was freed, rewritten or moved since.
      if (this.#slab[slot] !== id || this.#offset[slot] !== offset) continue
      this.#place(slot, slab.bytes.subarray(offset, offset + this.#length[slot]!))
    }
    // Only now may the id be reused: until the loop ends, a slot still pointing at `id` means this slab.
    this.#slabs[id] = undefined
    this.#freeSlabs.push(id)
  }
}
