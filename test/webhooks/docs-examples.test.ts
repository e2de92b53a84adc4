// docs/events.md's promises: its embedder's `watch` loop and its webhook receiver run as written
// (each in a child process, with the names the doc leaves to the reader defined around it).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type DeliveryReport, Registry, startWebhooks } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
import { freePort } from '../helpers/servers.js'
import { tgz } from '../registry/helpers.js'

const root = new URL('../..', import.meta.url).pathname
const doc = readFileSync(join(root, 'docs', 'events.md'), 'utf8')
const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
const chart = await tgz({ 'web/Chart.yaml': 'name: web\nversion: 1.0.0\n' })

/** A fresh directory inside the package (so `appr-core` resolves through its own exports). */
function workDir(): string {
  mkdirSync(join(root, '.tmp'), { recursive: true })
  return mkdtempSync(join(root, '.tmp', 'events-doc-'))
}

function block(containing: string): string {
  const found = blocks.filter((b) => b.includes(containing))
  assert.is(found.length, 1, `docs/events.md has one ts block with ${containing}`)
  return found[0]!
}

test("the embedder's watch loop handles each event, saves its cursor and ends on SIGTERM", () => {
  const dir = workDir()
  try {
    writeFileSync(join(dir, 'chart.tgz'), chart)
    const before = `import { readFileSync } from 'node:fs'
import { Registry } from 'appr-core'
import { memoryStore } from 'appr-core/adapters/memory'
const registry = new Registry({ store: memoryStore(), events: true })
await registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob: new Uint8Array(readFileSync('chart.tgz')) })
await registry.channels.add('acme/web', 'stable', '1.0.0')
const done: string[] = []
const cdn = { purge: async (path: string) => void done.push(\`purge \${path}\`) }
const index = { drop: async (name: string) => void done.push(\`drop \${name}\`), refreshChannel: async (name: string, channel: string) => void done.push(\`refresh \${name} \${channel}\`) }
// The saved cursor: the feed's start, so the loop sees the two events above; SIGTERM after the second.
let saved: string | undefined = '0'
const loadCursor = async () => saved
const saveCursor = async (cursor: string) => {
  saved = cursor
  if (cursor === '2') process.emit('SIGTERM')
}
const fullResync = async () => void done.push('resync')
`
    writeFileSync(join(dir, 'watch.ts'), `${before}\n${block('registry.events.watch(')}\nconsole.log(JSON.stringify({ done, saved }))\n`)
    const out = execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', 'watch.ts'], { cwd: dir, encoding: 'utf8', timeout: 60_000 })
    assert.equal(JSON.parse(out), { done: ['purge /charts/acme/web/1.0.0', 'refresh acme/web stable'], saved: '2' })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the webhook receiver accepts a signed delivery and refuses a bad signature', async () => {
  const dir = workDir()
  const port = await freePort()
  // The doc listens on 8080; here on a free port, saying when it listens.
  const receiver = block('verifyWebhook(').replace('.listen(8080)', `.listen(${port}, () => console.log('listening'))`)
  assert.ok(receiver.includes(`.listen(${port},`))
  writeFileSync(join(dir, 'receiver.ts'), receiver)
  const child: ChildProcess = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'receiver.ts'], {
    cwd: dir,
    env: { ...process.env, HOOK_SECRET: 's3cret' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (err += d))
  const printed = async (text: string) => {
    const deadline = Date.now() + 30_000
    while (!out.includes(text)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the receiver did not print ${text}: ${out} ${err}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const store = memoryStore()
  const registry = new Registry({ store, events: true })
  const reports: DeliveryReport[] = []
  const deliverer = startWebhooks(registry, { pollMs: 10, endpoints: [{ id: 'ci', url: `http://127.0.0.1:${port}/hook`, secret: 's3cret' }], onReport: (r) => reports.push(r) })
  try {
    await printed('listening')
    const url = `http://127.0.0.1:${port}/hook`
    const body = JSON.stringify({ type: 'release.pushed', package: 'evil/x', release: '6.6.6' })
    assert.is((await fetch(url, { method: 'POST', body, headers: { 'x-appr-signature-256': `sha256=${'0'.repeat(64)}` } })).status, 401)
    assert.is((await fetch(url, { method: 'POST', body })).status, 401)
    // A new endpoint hears what comes after its cursor is saved.
    for (let n = 0; (await store.get('whk/cursor/ci')) === undefined; n++) {
      assert.ok(n < 1500, 'the deliverer saved its cursor')
      await new Promise((r) => setTimeout(r, 20))
    }
    await registry.push({ package: 'acme/web', release: '1.0.0', format: 'helm', blob: chart })
    await printed('release.pushed acme/web 1.0.0\n')
    assert.not.ok(out.includes('evil'), 'nothing unsigned was trusted')
    // The receiver prints before it answers: the deliverer's report of that answer follows.
    for (let n = 0; reports.length === 0 && n < 1500; n++) await new Promise((r) => setTimeout(r, 20))
    assert.equal(
      reports.map((r) => [r.delivery, r.status]),
      [['ci:1', 204]],
    )
  } finally {
    await deliverer.stop()
    await registry.close()
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGKILL')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
