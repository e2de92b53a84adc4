/**
 * `appr-core webhooks dead-letters|drop`: the events `serve --webhooks` gave up delivering, read
 * from (and dropped in) the store the servers share.
 * @module
 */
import { dropDeadLetter, listDeadLetters } from '../../webhooks/dead-letters.js'
import { parse, runCommand, UsageError } from '../args.js'
import { printJson } from '../output.js'
import { openStore } from '../serve.js'

export const usage = `Usage: appr-core webhooks <dead-letters | drop DELIVERY> --store <spec> [options]

  webhooks dead-letters --store S      list the events given up after retry.maxAttempts
                                       (oldest first, per endpoint)
  webhooks drop ci:42 --store S        delete one dead letter (by its X-Appr-Delivery id)

Options:
  --store <spec>      the store serve runs on: level:<dir>, redis://…, etcd://…
  --endpoint <id>     only this endpoint's dead letters
  --after <delivery>  continue after this delivery id
  --limit <n>         at most n (default 100, at most 1000)
  --json              print JSON
`

export async function run(args: string[]): Promise<number> {
  return runCommand('webhooks', usage, async () => {
    const { values, positionals } = parse(args, {
      store: { type: 'string' },
      endpoint: { type: 'string' },
      after: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
    })
    const [action, delivery, ...extra] = positionals
    if (values.store === undefined) throw new UsageError('--store is required')
    if (extra.length > 0 || (action === 'drop') !== (delivery !== undefined)) throw new UsageError('give dead-letters, or drop and one delivery id')
    if (action !== 'dead-letters' && action !== 'drop') throw new UsageError(`unknown webhooks action '${action ?? ''}'`)
    const { store } = await openStore(values.store)
    try {
      if (action === 'drop') {
        const dropped = await dropDeadLetter(store, delivery!)
        if (values.json) printJson({ delivery, dropped })
        else process.stdout.write(dropped ? `dropped ${delivery}\n` : `no dead letter ${delivery}\n`)
        return dropped ? 0 : 1
      }
      const letters = await listDeadLetters(store, {
        ...(values.endpoint !== undefined && { endpoint: values.endpoint }),
        ...(values.after !== undefined && { after: values.after }),
        ...(values.limit !== undefined && { limit: Number(values.limit) }),
      })
      if (values.json) printJson(letters)
      else {
        const line = (l: (typeof letters)[number]) =>
          `${l.delivery}  ${l.event.type} ${l.event.package}  ${l.attempts} attempts, last ${l.status ?? l.error ?? '?'}  ${l.failedAt}  ${l.url}`
        process.stdout.write(letters.length === 0 ? 'no dead letters\n' : `${letters.map(line).join('\n')}\n`)
      }
      return 0
    } finally {
      await store.close()
    }
  })
}
