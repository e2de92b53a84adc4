// The UI's archive reader (src/ui/app/tar.ts) on web APIs, in Node: ustar prefixes, pax long
// names, sizes, and text versus binary.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readArchive, textOf } from '../../src/ui/app/tar.js'
import { tgz } from '../registry/helpers.js'

test('files come back with their full paths (ustar prefix and pax), sizes and bytes', async () => {
  const prefixed = `chart/${'d'.repeat(120)}/values.yaml`
  const pax = `chart/${'x/'.repeat(150)}deep.txt`
  const files = await readArchive(await tgz({ 'chart/Chart.yaml': 'name: chart\n', [prefixed]: 'a: 1\n', [pax]: 'deep\n', 'chart/README.md': '# héllo\n' }))
  assert.equal(files.map((f) => f.path), ['chart/Chart.yaml', prefixed, pax, 'chart/README.md'])
  assert.equal(files.map((f) => f.size), [12, 5, 5, 9])
  assert.is(textOf(files[3]!), '# héllo\n')
})

test('binary content is not text', async () => {
  const [file] = await readArchive(await tgz({ 'bin/blob': 'a\u0000b' }))
  assert.is(textOf(file!), undefined)
  assert.is(textOf({ path: 'x', size: 2, bytes: new Uint8Array([0xc3, 0x28]) }), undefined, 'invalid UTF-8')
})

test.run()
