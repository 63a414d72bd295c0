import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach } from 'vitest'
import { openBoard, type Board } from '@kanban-db/core'
import { postgres } from '@kanban-db/adapter-postgres'

/**
 * Runs the built `kanban-db` command as a child process, the way a person does (`node dist/main.js`;
 * build it with `npx tsup` in packages/cli first), and gives the boards the tests run it on.
 */
export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))

/** The Postgres server the tests reach (`./dev test` starts one); undefined: those tests skip. */
export const postgresUrl: string | undefined = process.env['KANBAN_DB_POSTGRES_URL'] || undefined
export const POSTGRES_SKIP = 'no PostgreSQL server: set KANBAN_DB_POSTGRES_URL (./dev postgres url)'

/** What a finished command printed and how it exited. */
export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const base = { ...process.env }
  delete base['KANBAN_DB_BOARD']
  delete base['FORCE_COLOR']
  return { ...base, ...env }
}

/** Starts `kanban-db args...` without waiting (for `events --follow` and `serve`). */
export function startCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess & { output: { stdout: string; stderr: string }; exited: Promise<CliResult> } {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npx tsup in packages/cli before these tests`)
  const child = spawn(process.execPath, [MAIN, ...args], { env: childEnv(options.env ?? {}), cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  const output = { stdout: '', stderr: '' }
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk))
  const exited = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, ...output })))
  return Object.assign(child, { output, exited })
}

/** Runs `kanban-db args...` to its end. */
export function cli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return startCli(args, options).exited
}

/** A command line for an error message, long arguments cut. */
function shown(args: readonly string[]): string {
  return args.map((arg) => (arg.length > 80 ? `${arg.slice(0, 77)}...` : arg)).join(' ')
}

/** Runs a command that must succeed and returns its stdout parsed as one JSON document. */
export async function cliJson<T = any>(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<T> {
  const result = await cli([...args, '--json'], options)
  if (result.code !== 0) throw new Error(`kanban-db ${shown(args)} exited ${result.code}: ${result.stdout}${result.stderr}`)
  return JSON.parse(result.stdout) as T
}

/** Waits for `condition` to hold, looking every 50 ms, up to `timeoutMs` (generous: the machine is loaded). */
export async function waitFor(condition: () => boolean, what: string, options: { timeoutMs?: number; child?: ReturnType<typeof startCli> } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 40_000)
  const child = options.child
  while (!condition()) {
    const seen = child ? ` (the command ${child.exitCode === null ? 'runs' : `exited ${child.exitCode}`}; stdout ${JSON.stringify(child.output.stdout)}, stderr ${JSON.stringify(child.output.stderr)})` : ''
    if (child && child.exitCode !== null) throw new Error(`gave up waiting for ${what}${seen}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${seen}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** A board the tests name on the command line, and how to tell whether it exists. */
export interface BoardSubject {
  readonly name: 'sqlite' | 'postgres'
  readonly skip?: string
  /** A fresh board argument (nothing exists there yet); removed after the test. */
  fresh(dir: string): string
  /** A SQLite file exists, or a Postgres schema exists. */
  exists(board: string): Promise<boolean>
}

/** The schema name in a postgres board argument. */
function schemaOf(board: string): string {
  return new URL(board).searchParams.get('schema')!
}

let admin: Promise<Board> | undefined
const adminSchema = `t_cli_admin_${randomBytes(4).toString('hex')}`

/** A board in its own schema, for looking at and dropping the tests' schemas; dropped after the file. */
function adminBoard(): Promise<Board> {
  admin ??= openBoard({ engine: postgres({ connectionString: postgresUrl!, schema: adminSchema, poolSize: 1 }) })
  return admin
}

const createdSchemas: string[] = []
afterEach(async () => {
  if (createdSchemas.length === 0) return
  const db = (await adminBoard()).db
  for (const schema of createdSchemas.splice(0)) await db.schema.dropSchema(schema).ifExists().cascade().execute()
})
afterAll(async () => {
  if (!admin) return
  const board = await admin
  await board.db.schema.dropSchema(adminSchema).ifExists().cascade().execute()
  await board.close()
})

/** SQLite always; Postgres when KANBAN_DB_POSTGRES_URL names a server (else skipped with the reason). */
export const BOARD_SUBJECTS: readonly BoardSubject[] = [
  {
    name: 'sqlite',
    fresh: (dir) => join(dir, `board-${randomBytes(3).toString('hex')}.db`),
    exists: async (board) => existsSync(board),
  },
  {
    name: 'postgres',
    ...(postgresUrl ? {} : { skip: POSTGRES_SKIP }),
    fresh: () => {
      const schema = `t_cli_${randomBytes(5).toString('hex')}`
      createdSchemas.push(schema)
      const url = new URL(postgresUrl!)
      url.searchParams.set('schema', schema)
      return url.toString()
    },
    exists: async (board) => {
      // information_schema is not one of the board's tables: an untyped query.
      const db = (await adminBoard()).db as any
      const rows = await db.selectFrom('information_schema.schemata').select('schema_name').where('schema_name', '=', schemaOf(board)).execute()
      return rows.length > 0
    },
  },
]

/** Runs a command that must succeed (exit 0); on failure the error shows what it printed. */
export async function ok(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  const result = await cli(args, options)
  if (result.code !== 0) throw new Error(`kanban-db ${shown(args)} exited ${result.code}: ${result.stdout}${result.stderr}`)
  return result
}
