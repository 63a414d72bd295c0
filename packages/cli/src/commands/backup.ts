import { statSync } from 'node:fs'
import { InvalidInput, NotSupported } from '@kanban-db/core'
import { describeTarget } from '../board-target.js'
import { formatBytes, formatDuration } from '../output/format.js'
import { writeJson } from '../output/json.js'
import { startProgress } from '../output/progress.js'
import type { Command } from './command.js'
import { EXIT } from './exit-codes.js'
import { requiredArg, withBoard } from './with-board.js'

/** `kanban-db backup`: a consistent copy of a live SQLite board through the driver's online backup. */
export const backup: Command = {
  name: 'backup',
  summary: 'Copy a live SQLite board to a new file (online backup, checked); Postgres: use pg_dump',
  description:
    'The copy is taken through SQLite\'s online backup while workers keep running, then checked with integrity_check. The destination must not exist. ' +
    'A Postgres board is a schema on its server: this command refuses it (exit 5) and names the pg_dump command to use.',
  positionals: [
    { name: 'board', description: 'A SQLite file path (a postgres:// URL is refused with exit 5)' },
    { name: 'dest', description: 'The new file to write (must not exist)' },
  ],
  options: {},
  examples: ['kanban-db backup board.db backups/board-$(date +%F).db'],
  async run(context) {
    const destination = requiredArg(context, 'dest')
    const target = context.board!
    if (target.engine === 'postgres') {
      const schema = target.schema ?? 'kanban'
      throw new NotSupported(
        `kanban-db backup copies SQLite board files; ${describeTarget(target)} is a Postgres board (the schema ${schema} on its server). ` +
          `Back it up with the server's tools: pg_dump --schema=${schema} --format=custom --file=board.dump "<url>" (restore with pg_restore). Nothing was written.`,
        { details: { engine: 'postgres', schema } },
      )
    }
    if (statSync(destination, { throwIfNoEntry: false }) !== undefined) throw new InvalidInput(`${destination} already exists; a backup never overwrites a file. Pick a new name. Nothing was written.`, { details: { destination } })
    const started = Date.now()
    const progress = startProgress(context.stderr, `backing up ${target.path}`)
    try {
      await withBoard(context, 'read', async ({ sqlite }) => sqlite!.backupTo(destination))
    } finally {
      progress.finish()
    }
    const bytes = statSync(destination).size
    const tookMs = Date.now() - started
    if (context.json) writeJson(context.stdout, { board: target.path, destination, bytes, tookMs, checked: 'integrity_check' })
    else context.stdout.write(`backed up ${target.path} to ${destination} (${formatBytes(bytes)}, checked, ${formatDuration(tookMs)})\n`)
    return EXIT.ok
  },
}
