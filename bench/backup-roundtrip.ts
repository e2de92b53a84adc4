/**
 * The backup round trip at scale, through the real commands: N synthetic packages (default
 * 100,000; BACKUP_PACKAGES) written as an NDJSON backup, `appr-core restore` into a LevelDB store,
 * `appr-core backup` of it, `appr-core restore` of that into a second store, then `stats` of both.
 * Each command runs as its own process under /usr/bin/time, so its peak RSS is its own. Memory
 * should not depend on N (compare a run with BACKUP_PACKAGES=10000). Not part of `npm test`:
 *
 *   node --conditions=source --import tsx bench/backup-roundtrip.ts
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { toNdjson } from 'appr-core'
import { syntheticBackup } from '../test/helpers/synthetic-backup.js'

const PACKAGES = Number(process.env.BACKUP_PACKAGES ?? 100_000)
const root = fileURLToPath(new URL('..', import.meta.url))
const main = join(root, 'src/cli/main.ts')
const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'appr-backup-bench-'))

/** Runs `appr-core args` under /usr/bin/time; answers its wall time, peak RSS and stdout. */
async function command(args: string[]): Promise<{ seconds: number; rssMiB: number; stdout: string }> {
  const started = performance.now()
  const child = spawn('/usr/bin/time', ['-f', 'maxrss_kib=%M', process.execPath, '--conditions=source', '--import', 'tsx', main, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const [code] = (await once(child, 'exit')) as [number]
  if (code !== 0) throw new Error(`appr-core ${args.join(' ')} exited ${code}:\n${stderr}`)
  const kib = Number(/maxrss_kib=(\d+)/.exec(stderr)?.[1] ?? Number.NaN)
  return { seconds: (performance.now() - started) / 1000, rssMiB: kib / 1024, stdout }
}

try {
  const generated = join(dir, 'generated.ndjson')
  let started = performance.now()
  const out = createWriteStream(generated)
  for await (const line of toNdjson(syntheticBackup(PACKAGES))) if (!out.write(line)) await once(out, 'drain')
  out.end()
  await once(out, 'close')
  console.log(`generated ${PACKAGES} packages: ${(statSync(generated).size / 1024 / 1024).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const rows: [string, { seconds: number; rssMiB: number }][] = []
  rows.push(['restore generated → level A', await command(['restore', generated, '--store', `level:${join(dir, 'a')}`])])
  const backupFile = join(dir, 'a.ndjson')
  rows.push(['backup level A → NDJSON', await command(['backup', '--store', `level:${join(dir, 'a')}`, '-o', backupFile])])
  rows.push(['restore NDJSON → level B', await command(['restore', backupFile, '--store', `level:${join(dir, 'b')}`])])
  const resumed = await command(['restore', backupFile, '--store', `level:${join(dir, 'b')}`, '--json'])
  rows.push(['restore again (all skipped)', resumed])
  const a = await command(['stats', '--store', `level:${join(dir, 'a')}`, '--json'])
  const b = await command(['stats', '--store', `level:${join(dir, 'b')}`, '--json'])
  rows.push(['stats level B', b])
  started = performance.now()
  for (const [label, r] of rows) console.log(`${label.padEnd(30)} ${r.seconds.toFixed(1).padStart(7)} s   peak RSS ${r.rssMiB.toFixed(0).padStart(5)} MiB`)
  console.log(`backup file ${(statSync(backupFile).size / 1024 / 1024).toFixed(1)} MiB; second restore: ${resumed.stdout.replace(/\s+/g, ' ')}`)
  if (a.stdout !== b.stdout) throw new Error(`the copy differs:\n${a.stdout}\n${b.stdout}`)
  console.log(`stats equal: ${b.stdout.replace(/\s+/g, ' ')}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
