/**
 * Preloaded (`node --expose-gc --import`) into server processes that the HTTP bench and the
 * heap test (test/http/heap-flat.test.ts) fork, so they can be asked over IPC for their CPU time
 * and memory without changing what runs (`appr-core serve` itself, or the bench's bare server).
 * With `gc: true` the heap is measured after three full collections (the live heap, not garbage
 * waiting to be collected).
 */
if (process.send) {
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0))
  process.on('message', async (m) => {
    if (m === null || typeof m !== 'object' || m.type !== 'probe') return
    if (m.gc && typeof globalThis.gc === 'function') {
      // Between collections, let FinalizationRegistry callbacks run (undici registers one per
      // Request with a signal): what they free is garbage too, not live heap.
      for (let k = 0; k < 3; k++) {
        globalThis.gc()
        await tick()
      }
    }
    const cpu = process.cpuUsage()
    const mem = process.memoryUsage()
    process.send({
      type: 'probe',
      id: m.id,
      cpuUs: cpu.user + cpu.system,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
    })
  })
  // The channel must not keep a server alive once it has stopped.
  process.channel?.unref()
}
