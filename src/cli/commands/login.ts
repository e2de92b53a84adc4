/**
 * `appr-core login [REGISTRY]`: gets a token from the registry (`POST /users/login`, as `appr
 * login` does) or takes one given, and stores it for the other commands (`credentials.ts`).
 * @module
 */
import { createInterface } from 'node:readline'
import { Writable } from 'node:stream'
import { ApprError, isApprError } from '../../errors/index.js'
import { CLIENT_USAGE, UsageError, connect, runCommand } from '../args.js'
import { credentialsPath, storeLogin } from '../credentials.js'
import { printJson } from '../output.js'

export const usage = `Usage: appr-core login [REGISTRY] [options]

Logs in to REGISTRY (default --registry, APPR_REGISTRY or http://127.0.0.1:5000) and stores
the token it answers in $XDG_CONFIG_HOME/appr-core/credentials.json (default
~/.config/appr-core/; readable only by you). Later commands send it to that registry unless
--token or APPR_TOKEN is given. Against \`appr-core serve --token T\`, any user name with T as
the password logs in.

Options:
  -u, --username <u>  user name (asked on a terminal when missing)
  -p, --password <p>  password (asked on a terminal, without echo, when missing; prefer
                      --password-stdin in scripts: a command line is visible to others)
  --password-stdin    read the password from standard input
  --token <t>         store this token as it is, without asking the registry

${CLIENT_USAGE.split('\n')
  .filter((line) => !line.includes('--token') && !line.includes('`appr-core login`'))
  .join('\n')}
`

export async function run(args: string[]): Promise<number> {
  return runCommand('login', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      registry: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      username: { type: 'string', short: 'u' },
      password: { type: 'string', short: 'p' },
      'password-stdin': { type: 'boolean', default: false },
      token: { type: 'string' },
    })
    if (positionals.length > 1) throw new UsageError('login takes at most one registry')
    if (positionals[0] !== undefined && values.registry !== undefined) throw new UsageError('give the registry once: as REGISTRY or with --registry')
    if (values.password !== undefined && values['password-stdin']) throw new UsageError('--password and --password-stdin exclude each other')
    if (values.token !== undefined && (values.password !== undefined || values['password-stdin'] || values.username !== undefined)) {
      throw new UsageError('--token stores a token as it is: it takes no user name or password')
    }
    // No stored login is read here: login is how one is made (and a wrong one must not be sent).
    // Not cli.connect: a refusal here is about the password, not a token to give.
    const { client, registry } = connect({ registry: positionals[0] ?? values.registry, token: '', timeout: values.timeout })
    let token = values.token
    let username: string | undefined
    if (token === '') throw new UsageError('--token must not be empty')
    if (token === undefined) {
      username = values.username ?? (await ask('Username: ', false))
      const password = values.password ?? (values['password-stdin'] ? await readStdin() : await ask('Password: ', true))
      if (username === '' || password === '') throw new UsageError('a user name and a password are required')
      token = await client.login(username, password).catch((e: unknown) => {
        if (!isApprError(e, 'unauthorized-access')) throw e
        throw new ApprError('unauthorized-access', `${registry} refused the user name or password (${e.message})`, { details: e.details, cause: e })
      })
    }
    const file = credentialsPath()
    storeLogin(registry, { token, ...(username === undefined ? {} : { username }) }, file)
    if (values.json) printJson({ registry, username: username ?? null, credentials: file })
    else process.stdout.write(`logged in to ${registry}${username === undefined ? '' : ` as ${username}`} (token stored in ${file})\n`)
    return 0
  })
}

/** The first line of standard input, without its line ending. */
async function readStdin(): Promise<string> {
  let text = ''
  for await (const chunk of process.stdin) text += String(chunk)
  return text.replace(/\r?\n[\s\S]*$/, '')
}

/** Asks on the terminal (stderr), echoing nothing when `secret`; a usage error without a terminal. */
async function ask(question: string, secret: boolean): Promise<string> {
  if (!process.stdin.isTTY) throw new UsageError(`no terminal to ask on: give ${secret ? '--password or --password-stdin' : '--username'}`)
  process.stderr.write(question)
  // readline echoes what is typed to its output: a sink, for a password.
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() })
  const lines = createInterface({ input: process.stdin, output: secret ? sink : process.stderr, terminal: true })
  try {
    const answer = await new Promise<string>((resolve) => lines.once('line', resolve))
    if (secret) process.stderr.write('\n')
    return answer
  } finally {
    lines.close()
  }
}
