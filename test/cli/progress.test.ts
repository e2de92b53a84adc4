/**
 * The progress display, driven by a stand-in stream and clock: rate and time left, a terminal
 * line redrawn in place (carriage return, clear to end of line, cut to the width), and a log
 * that never gets the same line twice.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { formatDuration, progress } from '../../src/cli/output.js'

const MiB = 1024 * 1024

function fakeStream(isTTY: boolean, columns?: number) {
  const writes: string[] = []
  return { writes, stream: { isTTY, ...(columns === undefined ? {} : { columns }), write: (text: string) => writes.push(text) } }
}

test('a terminal line shows bytes, percent, rate and time left, redrawn in place and cut to the width', () => {
  let now = 0
  const { writes, stream } = fakeStream(true, 80)
  const bar = progress('push acme/nginx@1.0.0', 4 * MiB, { stream, now: () => now })
  now = 1000
  bar.update(MiB)
  assert.is(writes.length, 1)
  assert.is(writes[0], '\rpush acme/nginx@1.0.0  1.0 MiB / 4.0 MiB  25%  1.0 MiB/s  ETA 3s\x1b[K')
  // The same percent within 200 ms is not redrawn; a new percent is.
  now = 1100
  bar.update(MiB + 10)
  assert.is(writes.length, 1)
  now = 1150
  bar.update(2 * MiB)
  assert.is(writes.length, 2)
  now = 4000
  bar.update(4 * MiB)
  bar.done()
  bar.done()
  const last = writes.at(-1)!
  assert.ok(last.startsWith('\r') && last.endsWith('\x1b[K\n'), JSON.stringify(last))
  assert.match(last, '100%')
  assert.match(last, 'in 4s')
  assert.is(writes.filter((w) => w.endsWith('\n')).length, 1, 'one final line, also when done() is called twice')
  // A narrow terminal gets the line cut short of its last column, so it never wraps.
  const narrow = fakeStream(true, 30)
  const cut = progress('push acme/nginx@1.0.0', 4 * MiB, { stream: narrow.stream, now: () => now })
  cut.update(2 * MiB)
  assert.equal(narrow.writes, ['\rpush acme/nginx@1.0.0  2.0 Mi\x1b[K'])
})

test('a log gets a line per quarter and one final line, never the same line twice', () => {
  let now = 0
  const { writes, stream } = fakeStream(false)
  const bar = progress('pull acme/nginx@1.0.0', 8 * MiB, { stream, now: () => now })
  for (let sent = 0; sent <= 8 * MiB; sent += MiB / 4) {
    now += 100
    bar.update(sent)
  }
  bar.done()
  bar.done()
  assert.is(writes.length, 4, writes.join(''))
  assert.equal(
    writes.slice(0, 3).map((w) => /(\d+)%/.exec(w)?.[1]),
    ['25', '50', '75'],
  )
  assert.ok(writes.every((w) => w.endsWith('\n') && !w.includes('\r') && !w.includes('\x1b')))
  assert.match(writes[3]!, /8\.0 MiB \/ 8\.0 MiB {2}100% {2}[\d.]+ MiB\/s {2}in 3s\n$/)
  assert.is(new Set(writes).size, writes.length)
})

test('an unknown total shows bytes and rate; under 1 MiB nothing is shown', () => {
  let now = 0
  const { writes, stream } = fakeStream(false)
  const bar = progress('pack ./chart', undefined, { stream, now: () => now })
  now = 2000
  bar.update(2 * MiB)
  bar.done()
  assert.equal(writes, ['pack ./chart  2.0 MiB  1.0 MiB/s  in 2s\n'])
  const small = fakeStream(true)
  const quiet = progress('pack ./tiny', 1000, { stream: small.stream, now: () => now })
  quiet.update(1000)
  quiet.done()
  assert.equal(small.writes, [])
})

test('durations', () => {
  assert.equal([formatDuration(0), formatDuration(59.4), formatDuration(61), formatDuration(3725)], ['0s', '59s', '1m01s', '1h02m'])
})

test.run()
