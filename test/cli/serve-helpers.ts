/** Runs `appr-core` (from source, through tsx) as a child process. */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('../..', import.meta.url))
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export interface Served {
  readonly child: ChildProcess
  readonly url: string
  /** Every stdout line so far. */
  readonly out: string[]
  readonly err: string[]
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** `appr-core <args>` to completion, with `input` (default none) on its standard input. */
export async function runCli(args: string[], env: Record<string, string> = {}, input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', main, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdin.end(input)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}

const quoted = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`

/**
 * `appr-core <args>` on a real terminal: a pseudo-terminal of `columns` columns made by
 * util-linux's `script` (Debian's essential bsdutils), its standard output and error both on the
 * terminal. `output` is what the terminal received, raw (its line discipline turns "\n" into
 * "\r\n").
 */
export async function runCliOnTerminal(args: string[], env: Record<string, string>, columns: number): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, '--conditions=source', '--import', 'tsx', main, ...args].map(quoted).join(' ')
  const child = spawn('script', ['-q', '-e', '-c', `stty cols ${columns} rows 24; exec ${command}`, '/dev/null'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, output }
}

/**
 * Starts `appr-core serve <args>` and resolves once it logs its `listening` line.
 * Rejects with the process output when it exits first. `built`: run the compiled bin in dist/.
 * `onLine` sees every stdout line as it comes (a test can act on a line logged before `listening`).
 */
export async function startServe(
  args: string[],
  env: Record<string, string> = {},
  options: { built?: boolean; onLine?: (line: string) => void } = {},
): Promise<Served> {
  const node = options.built ? [fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))] : ['--conditions=source', '--import', 'tsx', main]
  const child = spawn(process.execPath, [...node, 'serve', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out: string[] = []
  const err: string[] = []
  let buffered = ''
  const exited = once(child, 'exit') as Promise<[number | null]>
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (d: string) => {
      buffered += d
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        out.push(line)
        options.onLine?.(line)
        try {
          const parsed = JSON.parse(line) as { msg?: string; url?: string }
          if (parsed.msg === 'listening' && parsed.url) resolve(parsed.url)
        } catch {
          // not a log line
        }
      }
    })
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (d: string) => err.push(d))
    exited.then(([code]) => reject(new Error(`serve exited with ${code} before listening:\n${out.join('\n')}\n${err.join('')}`)))
  })
  return {
    child,
    url,
    out,
    err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode
      child.kill(signal)
      const [code] = await exited
      return code
    },
  }
}
