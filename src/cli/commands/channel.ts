/**
 * `appr-core channel NS/NAME [CHANNEL]`: list, show and change channels.
 * @module
 */
import { parseChannelName } from '../../model/index.js'
import type { Channel } from '../../client/index.js'
import { CLIENT_OPTIONS, CLIENT_USAGE, UsageError, runCommand, usageChecked } from '../args.js'
import { printJson } from '../output.js'
import { parseRef } from '../refs.js'

export const usage = `Usage: appr-core channel NAMESPACE/NAME [CHANNEL] [options]

  channel NS/NAME                          list the package's channels
  channel NS/NAME CHANNEL                  show one channel
  channel NS/NAME CHANNEL --add RELEASE    add a release (it becomes current; creates the channel)
  channel NS/NAME CHANNEL --remove RELEASE remove a release (the highest remaining becomes
                                           current; removing the last deletes the channel)
  channel NS/NAME CHANNEL --delete         delete the channel

Options:
  --add <release>     exact release to add
  --remove <release>  exact release to remove
  --delete            delete the channel
${CLIENT_USAGE}
`

const describe = (c: Channel) => `${c.name}  current ${c.current}  releases ${c.releases.join(', ') || '-'}`

export async function run(args: string[]): Promise<number> {
  return runCommand('channel', usage, async (cli) => {
    const { values, positionals } = cli.parse(args, {
      ...CLIENT_OPTIONS,
      add: { type: 'string' },
      remove: { type: 'string' },
      delete: { type: 'boolean', default: false },
    })
    if (positionals.length < 1 || positionals.length > 2) throw new UsageError('channel takes a package and at most one channel')
    const ref = parseRef(positionals[0])
    if (ref.release !== undefined || ref.channel !== undefined || ref.digest !== undefined) throw new UsageError('give the package as NAMESPACE/NAME')
    const actions = [values.add !== undefined, values.remove !== undefined, values.delete].filter(Boolean).length
    if (actions > 1) throw new UsageError('give at most one of --add, --remove, --delete')
    const { client } = cli.connect(values)
    const pkg = ref.package.full
    const channelArg = positionals[1]
    if (channelArg === undefined) {
      if (actions > 0) throw new UsageError('--add, --remove and --delete need a channel')
      const channels = await client.channels.list(pkg)
      if (values.json) printJson(channels)
      else process.stdout.write(channels.length === 0 ? 'no channels\n' : `${channels.map(describe).join('\n')}\n`)
      return 0
    }
    const channel = usageChecked(() => parseChannelName(channelArg))
    let result: unknown
    let text: string
    if (values.add !== undefined) {
      const shown = await client.channels.add(pkg, channel, values.add)
      result = shown
      text = describe(shown)
    } else if (values.remove !== undefined) {
      result = await client.channels.remove(pkg, channel, values.remove)
      text = `removed ${values.remove} from ${channel}`
    } else if (values.delete) {
      result = await client.channels.delete(pkg, channel)
      text = `deleted channel ${channel}`
    } else {
      const shown = await client.channels.show(pkg, channel)
      result = shown
      text = describe(shown)
    }
    if (values.json) printJson(result)
    else process.stdout.write(`${text}\n`)
    return 0
  })
}
