/** Runs the CLI subcommands in-process with stdout and stderr captured (shared by the client tests). */
type Run = (args: string[]) => Promise<number>

const commands: Record<string, Run> = {
  pack: (await import('../../src/cli/commands/pack.js')).run,
  inspect: (await import('../../src/cli/commands/inspect.js')).run,
  push: (await import('../../src/cli/commands/push.js')).run,
  pull: (await import('../../src/cli/commands/pull.js')).run,
  show: (await import('../../src/cli/commands/show.js')).run,
  list: (await import('../../src/cli/commands/list.js')).run,
  channel: (await import('../../src/cli/commands/channel.js')).run,
  mirror: (await import('../../src/cli/commands/mirror.js')).run,
  sign: (await import('../../src/cli/commands/sign.js')).run,
  verify: (await import('../../src/cli/commands/verify.js')).run,
}

/** Runs `appr-core <name> …args` and returns its exit code and output. */
export async function cli(name: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const command = commands[name]
  if (command === undefined) throw new Error(`no command ${name}`)
  const out: string[] = []
  const err: string[] = []
  const [o, e] = [process.stdout.write, process.stderr.write]
  process.stdout.write = ((c: string | Uint8Array) => out.push(String(c)) > 0) as typeof process.stdout.write
  process.stderr.write = ((c: string | Uint8Array) => err.push(String(c)) > 0) as typeof process.stderr.write
  try {
    const code = await command(args)
    return { code, out: out.join(''), err: err.join('') }
  } finally {
    process.stdout.write = o
    process.stderr.write = e
  }
}
