/**
 * `appr-core pack` lays a chart out as Helm loads it by default (every file under the chart's
 * folder), keeps appr/kpm packages flat, and `--flat` opts a chart out.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { inspectArchive } from 'appr-core/archive'
import { cli } from './client-helpers.js'

let base = ''

test.before(async () => {
  base = await mkdtemp(join(tmpdir(), 'appr-pack-layout-'))
  await mkdir(join(base, 'src-dir', 'templates'), { recursive: true })
  await writeFile(join(base, 'src-dir', 'Chart.yaml'), 'apiVersion: v2\nname: blog\nversion: 0.4.0\n')
  await writeFile(join(base, 'src-dir', 'templates', 'a.yaml'), 'kind: ConfigMap\n')
  await mkdir(join(base, 'kpm'), { recursive: true })
  await writeFile(join(base, 'kpm', 'manifest.yaml'), 'package:\n  name: acme/tool\n  version: 1.0.0\n')
})

test.after(async () => {
  await rm(base, { recursive: true, force: true })
})

async function rootOf(file: string): Promise<string | undefined> {
  return (await inspectArchive(new Uint8Array(await readFile(file)))).root
}

test('a chart goes under its Chart.yaml name by default, flat with --flat; kpm stays flat', async () => {
  const chart = join(base, 'chart.tgz')
  assert.is((await cli('pack', join(base, 'src-dir'), '-o', chart)).code, 0)
  assert.is(await rootOf(chart), 'blog', 'the folder is the chart name, not the directory name')
  const flat = join(base, 'flat.tgz')
  assert.is((await cli('pack', join(base, 'src-dir'), '--flat', '-o', flat)).code, 0)
  assert.is(await rootOf(flat), undefined)
  assert.is((await cli('pack', join(base, 'src-dir'), '--flat', '--prefix')).code, 2, '--flat and --prefix exclude each other')
  const kpm = join(base, 'kpm.tgz')
  assert.is((await cli('pack', join(base, 'kpm'), '-o', kpm)).code, 0)
  assert.is(await rootOf(kpm), undefined)
})

test.run()
