import { InvalidInput } from '@kanban-db/core'
import { writeJsonLine } from '../output/json.js'
import type { Command } from './command.js'
import { EXIT } from './exit-codes.js'
import { integerOption, stringOption } from './values.js'

/** `kanban-db serve`: the live board in the browser, until Ctrl-C. */
export const serve: Command = {
  name: 'serve',
  summary: 'Serve a live view of the board in the browser (read-only unless --actions; Ctrl-C stops)',
  description:
    'Binds to 127.0.0.1 by default. With --actions, unblock, archive and reassign are offered, each only with the token printed at start. ' +
    'With --json, one JSON line {"url","token"} is printed once listening.',
  longRunning: true,
  positionals: [{ name: 'board', description: 'A SQLite file path or a postgres:// URL' }],
  options: {
    port: { type: 'string', valueName: 'N', description: 'The TCP port (default: any free one)' },
    host: { type: 'string', valueName: 'ADDRESS', description: 'The address to listen on (default 127.0.0.1: this machine only)' },
    actions: { type: 'boolean', description: 'Offer unblock, archive and reassign, each requiring the token printed at start' },
    token: { type: 'string', valueName: 'TOKEN', description: 'With --actions, use this token (at least 16 characters) instead of a fresh random one' },
  },
  examples: ['kanban-db serve board.db --port 8080', 'kanban-db serve postgres://localhost/app?schema=kanban --actions'],
  async run(context) {
    const port = integerOption('--port', stringOption(context.options['port']), { min: 0, max: 65_535 })
    const host = stringOption(context.options['host'])
    const token = stringOption(context.options['token'])
    const allowActions = context.options['actions'] === true
    if (token !== undefined && !allowActions) throw new InvalidInput('--token only makes sense with --actions.')
    const { serveBoard } = await import('../serve/index.js')
    const server = await serveBoard(context.board!, {
      allowActions,
      ...(port !== undefined ? { port } : {}),
      ...(host !== undefined ? { host } : {}),
      ...(token !== undefined ? { token } : {}),
    })
    if (context.json) writeJsonLine(context.stdout, { url: server.url, token: server.token ?? null })
    else {
      context.stdout.write(`Live board at ${context.color.bold(server.url)}\n`)
      if (server.token) {
        context.stdout.write(`Action token: ${server.token}\n`)
        context.stdout.write(`Open with the token: ${server.url}#token=${server.token}\n`)
      }
      context.stderr.write(context.color.dim(`${allowActions ? 'Actions on (they need the token)' : 'Read-only'}; Ctrl-C stops.\n`))
    }
    if (!context.signal.aborted) await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }))
    await server.close()
    if (!context.json) context.stderr.write('Stopped.\n')
    return EXIT.ok
  },
}
