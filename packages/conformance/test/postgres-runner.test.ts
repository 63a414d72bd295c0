import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { Board } from '@kanban-db/core'
import {
  ALL_ENGINES, NO_POSTGRES_SERVER, POSTGRES_URL_ENV, postgresSubject, runCase, withPostgres, type BoardSpec, type ConformanceCase, type PostgresEngineFunction,
} from '@kanban-db/conformance'

/** The runner on a real server: each case's schemas are the engine's to create and the runner's to drop. */
const root = fileURLToPath(new URL('../../../', import.meta.url))
const url = process.env[POSTGRES_URL_ENV]?.trim() || undefined
const skipped = url === undefined ? ` (skip: ${NO_POSTGRES_SERVER})` : ''

async function subject() {
  // The engine's sources, so this process shares one copy of core with the runner (as vitest resolves it).
  const { postgres } = (await import('../../adapter-postgres/src/index.js')) as unknown as { postgres: PostgresEngineFunction }
  return postgresSubject({ postgres, connectionString: url!, resolveFrom: root })
}

const schemaExists = (schema: string) =>
  withPostgres(url!, { moduleName: '@kanban-db/adapter-postgres', resolveFrom: root }, async (session) =>
    (await session.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).length === 1,
  )

function caseOf(run: ConformanceCase['run']): ConformanceCase {
  return { id: 'framework.postgres-probe', title: 'probe', tier: 'core', engines: ALL_ENGINES, requires: [], timeoutMs: 60_000, run }
}

describe('the case board on Postgres', () => {
  it.skipIf(url === undefined)(`is a fresh schema per name, opened by the case and its children, dropped after the case even when it fails${skipped}`, async () => {
    const specs: BoardSpec[] = []
    let left: Board | undefined
    let read: { engine: string; ids: string[] } | undefined
    let existedDuringCase = false
    const result = await runCase(
      caseOf(async (context) => {
        specs.push(context.boardSpec(), context.boardSpec(), context.boardSpec('other'))
        left = await context.openBoard()
        await left.createTask({ id: 'seen-by-child', title: 'x' })
        read = await context.child('board-read', { board: context.boardSpec() })
        existedDuringCase = await schemaExists((specs[0] as { schema: string }).schema)
        throw new Error('the case failed on purpose')
      }),
      await subject(),
    )
    expect(result).toMatchObject({ status: 'fail', detail: 'Error: the case failed on purpose' })
    expect(specs[0]).toMatchObject({ engine: 'postgres', connectionString: url, schema: expect.stringMatching(/^c_[a-z0-9]{16}$/) })
    expect(specs[1]).toEqual(specs[0])
    expect((specs[2] as { schema: string }).schema).not.toBe((specs[0] as { schema: string }).schema)
    expect(read).toEqual({ engine: 'postgres', ids: ['seen-by-child'] })
    expect(existedDuringCase).toBe(true)
    expect(await schemaExists((specs[0] as { schema: string }).schema)).toBe(false)
    await expect(left!.createTask({ title: 'late' })).rejects.toMatchObject({ code: 'BOARD_CLOSED' })
  })
})
