import { createRequire } from 'node:module'
import { hostname } from 'node:os'
import { postgresMigrations, SCHEMA_NAME_PATTERN, SCHEMA_VERSION_TABLE } from '@kanban-db/adapter-postgres'
import { ago, boardFindings, CLOCK_SKEW_TOLERANCE_MS } from './board-checks.js'
import { checkFailed, type DoctorFinding } from './finding.js'

/** The default board schema on a server (as `@kanban-db/adapter-postgres` has it). */
const DEFAULT_SCHEMA = 'kanban'
/** The named locks kanban-db's own processes take with `tryLock`, to name a holder by its lock. */
export const KNOWN_LOCK_NAMES = ['dispatcher', 'dispatch', 'reaper', 'scheduler', 'notifier', 'importer'] as const

/** The part of a node-postgres client the doctor uses. */
interface Client {
  connect(): Promise<void>
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>
  end(): Promise<void>
  on(event: 'error', listener: (error: Error) => void): void
}
type ClientClass = new (config: Record<string, unknown>) => Client

/** What the Postgres checks take. */
export interface PostgresDoctorOptions {
  readonly connectionString: string
  readonly schema: string | undefined
  /** A transaction open longer than this is reported. */
  readonly longTransactionMs: number
  readonly signal: AbortSignal | undefined
}

/**
 * Runs every check on a board on a PostgreSQL server through one session of its own in which every
 * transaction is read-only (`default_transaction_read_only=on`): the server itself refuses any write.
 */
export async function postgresFindings(options: PostgresDoctorOptions): Promise<DoctorFinding[]> {
  const schema = options.schema ?? DEFAULT_SCHEMA
  if (!SCHEMA_NAME_PATTERN.test(schema)) {
    return [{
      id: 'board-missing',
      severity: 'error',
      title: `${JSON.stringify(schema)} cannot be a board's schema`,
      detail: 'A board schema is a plain lower-case Postgres identifier (a-z, 0-9, _; at most 63 characters).',
      action: 'Fix the ?schema= of the URL (default kanban).',
      data: { schema },
    }]
  }
  // node-postgres as the engine package has it: the doctor speaks to the server the way the board does.
  const require = createRequire(createRequire(import.meta.url).resolve('@kanban-db/adapter-postgres'))
  const { Client } = require('pg') as { Client: ClientClass }
  const client = new Client({
    connectionString: options.connectionString,
    application_name: 'kanban-db doctor',
    options: `-c default_transaction_read_only=on -c search_path=${schema}`,
    connectionTimeoutMillis: 10_000,
    statement_timeout: 10_000,
  })
  client.on('error', () => {}) // a broken connection fails the query in flight, which reports it
  try {
    await client.connect()
  } catch (error) {
    return [{
      id: 'server-unreachable',
      severity: 'error',
      title: 'Cannot connect to the PostgreSQL server',
      detail: error instanceof Error ? error.message : String(error),
      action: 'Check the URL (host, port, database, user), that the server runs and accepts this client (pg_hba.conf), and the password (PGPASSWORD or ~/.pgpass).',
      data: { code: (error as { code?: unknown }).code },
    }]
  }
  const findings: DoctorFinding[] = []
  try {
    const [session] = (await client.query<{ version: string; server_version: string; user: string; database: string; pid: number; read_only: string; now_ms: string }>(
      "SELECT version() AS version, current_setting('server_version') AS server_version, current_user AS user, current_database() AS database, " +
        "pg_backend_pid() AS pid, current_setting('transaction_read_only') AS read_only, (extract(epoch from clock_timestamp()) * 1000)::int8::text AS now_ms",
    )).rows
    const serverNow = Number(session!.now_ms)
    const localNow = Date.now()
    findings.push({ id: 'server-version', severity: 'info', title: `PostgreSQL ${session!.server_version}`, detail: session!.version, data: { serverVersion: session!.server_version } })
    findings.push({
      id: 'connection',
      severity: 'ok',
      title: `Connected to ${session!.database} as ${session!.user}, board schema ${schema}`,
      detail: `A read-only session (transaction_read_only=${session!.read_only}), backend pid ${session!.pid}.`,
      data: { database: session!.database, user: session!.user, schema, readOnlySession: session!.read_only, backendPid: session!.pid },
    })
    if (Math.abs(localNow - serverNow) > CLOCK_SKEW_TOLERANCE_MS) {
      findings.push({
        id: 'client-clock-skew',
        severity: 'warning',
        title: `This host's clock is ${ago(Math.abs(localNow - serverNow))} ${localNow > serverNow ? 'ahead of' : 'behind'} the server's`,
        detail: 'The board uses the server\'s clock for leases and times; code on this host that compares its own clock with them (timeouts, dashboards) is off by that much.',
        action: 'Synchronise this host\'s clock (NTP: timedatectl, chrony).',
        data: { localNow, serverNow, skewMs: localNow - serverNow },
      })
    }
    options.signal?.throwIfAborted()
    const schemaState = await schemaFindings(client, schema).catch((error: unknown) => {
      // The server answered but refused (a privilege, a table gone): this check could not run; the next ones may.
      if (!isServerRefusal(error)) throw error
      return { findings: [checkFailed('schema version', error)], current: false }
    })
    findings.push(...schemaState.findings)
    for (const check of [
      () => longTransactionFindings(client, session!.pid, options.longTransactionMs, schema),
      () => lockFindings(client, session!.pid, schema),
      () => advisoryLockFindings(client, schema),
    ]) {
      options.signal?.throwIfAborted()
      try {
        findings.push(...(await check()))
      } catch (error) {
        findings.push(checkFailed('server activity', error))
      }
    }
    if (schemaState.current) {
      try {
        const query = async (sql: string) => (await client.query(sql)).rows
        findings.push(...(await boardFindings(query, { now: serverNow, host: hostname(), clockName: "the server's clock" })))
      } catch (error) {
        findings.push(checkFailed('claims, backoff and clock', error))
      }
    }
  } catch (error) {
    if (options.signal?.aborted) throw error
    findings.push({
      id: 'server-unreachable',
      severity: 'error',
      title: 'The connection to the PostgreSQL server failed during the checks',
      detail: error instanceof Error ? error.message : String(error),
      action: 'Check the server is up and its logs; then run the doctor again.',
      data: { code: (error as { code?: unknown }).code },
    })
  } finally {
    await client.end().catch(() => {})
  }
  return findings
}

async function schemaFindings(client: Client, schema: string): Promise<{ findings: DoctorFinding[]; current: boolean }> {
  const latest = postgresMigrations(schema).at(-1)!.version
  const [found] = (await client.query<{ schema_present: boolean; table_present: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS schema_present, to_regclass($2) IS NOT NULL AS table_present',
    [schema, `${quote(schema)}.${SCHEMA_VERSION_TABLE}`],
  )).rows
  if (!found!.table_present) {
    return {
      current: false,
      findings: [{
        id: 'board-missing',
        severity: 'error',
        title: `No board in schema ${schema}`,
        detail: found!.schema_present ? `The schema exists but has no ${SCHEMA_VERSION_TABLE} table: it is not a kanban-db board.` : 'The schema does not exist.',
        action: 'Check the ?schema= of the URL (default kanban); a board is created by opening it writable, for example with kanban-db add.',
        data: { schema },
      }],
    }
  }
  const [row] = (await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${quote(schema)}.${SCHEMA_VERSION_TABLE}`)).rows
  const version = Number(row?.version ?? 0)
  const data = { version, latest, schema }
  if (version < latest) {
    return {
      current: false,
      findings: [{ id: 'schema-outdated', severity: 'warning', title: `The board has schema version ${version}; this kanban-db needs ${latest}`, detail: 'Read-only commands refuse it until it is migrated.', action: 'Open it once writable with this kanban-db (any writable command): migrations run forward under an advisory lock.', data }],
    }
  }
  if (version > latest) {
    return { current: false, findings: [{ id: 'schema-newer', severity: 'error', title: `The board has schema version ${version}, newer than this kanban-db (${latest})`, detail: 'A newer kanban-db has migrated it.', action: 'Upgrade this kanban-db.', data }] }
  }
  return { current: true, findings: [{ id: 'schema-version', severity: 'ok', title: `Schema version ${version} (current)`, detail: 'The board and this kanban-db agree.', data }] }
}

interface Activity {
  pid: number
  usename: string | null
  application_name: string | null
  client_addr: string | null
  state: string | null
  xact_age_ms: string | null
  query: string | null
  wait_event_type: string | null
  wait_event: string | null
}

/**
 * Transactions open longer than `thresholdMs` in the board's database. One that holds a lock on the
 * board's tables is a warning (claims and completions of its rows wait for it); any other is a note,
 * since it only holds back vacuum for everyone.
 */
async function longTransactionFindings(client: Client, selfPid: number, thresholdMs: number, schema: string): Promise<DoctorFinding[]> {
  const rows = (await client.query<Activity>(
    'SELECT pid, usename, application_name, client_addr::text, state, ((extract(epoch from (clock_timestamp() - xact_start))) * 1000)::int8::text AS xact_age_ms, ' +
      'left(query, 300) AS query, wait_event_type, wait_event FROM pg_stat_activity ' +
      'WHERE datname = current_database() AND pid <> $1 AND xact_start IS NOT NULL AND clock_timestamp() - xact_start > $2 * interval \'1 millisecond\' ORDER BY xact_start',
    [selfPid, thresholdMs],
  )).rows
  const onBoard = new Set((await client.query<{ pid: number }>(
    "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND l.locktype = 'relation'",
    [schema],
  )).rows.map((row) => row.pid))
  if (rows.length === 0) {
    return [{ id: 'transactions', severity: 'ok', title: `No transaction open longer than ${ago(thresholdMs)}`, detail: 'Nothing holds back vacuum or the board\'s row locks for long.' }]
  }
  return rows.map((row) => ({
    id: 'long-transaction',
    severity: onBoard.has(row.pid) ? ('warning' as const) : ('info' as const),
    title: `Session pid ${row.pid} (${row.application_name || 'no application name'}) has had a transaction open for ${ago(Number(row.xact_age_ms))}${row.state === 'idle in transaction' ? ', idle' : ''}`,
    detail: `user ${row.usename ?? '?'} from ${row.client_addr ?? 'a local socket'}, state ${row.state ?? '?'}${row.wait_event ? `, waiting on ${row.wait_event_type}/${row.wait_event}` : ''}; last statement: ${row.query ?? '(hidden: needs pg_read_all_stats)'}. ` +
      (onBoard.has(row.pid)
        ? 'It holds locks on the board\'s tables: claims and completions of the rows it locked wait for it, and vacuum cannot clean up after it.'
        : 'It holds no lock on the board\'s tables, but keeps vacuum from cleaning up after it in the whole database.'),
    action: `Finish or roll back that transaction in its program; if the program is gone or stuck: SELECT pg_terminate_backend(${row.pid}).`,
    data: { ...row, xact_age_ms: Number(row.xact_age_ms), locksBoard: onBoard.has(row.pid) },
  }))
}

/** True when the server answered with an error of its own (SQLSTATE), not when the connection broke. */
function isServerRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('08') && !code.startsWith('57P')
}

interface LockRow { pid: number; relation: string | null; locktype: string; mode: string; granted: boolean; application_name: string | null; state: string | null; blocked_by: number[] }

async function lockFindings(client: Client, selfPid: number, schema: string): Promise<DoctorFinding[]> {
  const held = (await client.query<LockRow>(
    "SELECT l.pid, c.relname AS relation, l.locktype, l.mode, l.granted, a.application_name, a.state, pg_blocking_pids(l.pid) AS blocked_by " +
      'FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_stat_activity a ON a.pid = l.pid ' +
      "WHERE n.nspname = $1 AND l.locktype = 'relation' AND l.granted AND l.pid <> $2 ORDER BY l.pid, c.relname",
    [schema, selfPid],
  )).rows
  // Waits on the board: a lock wanted on one of its tables, or a row lock (a wait on the holder's
  // transaction id, or on the row's tuple) wanted by a session that uses the board's tables.
  const waiting = (await client.query<LockRow>(
    'SELECT l.pid, c.relname AS relation, l.locktype, l.mode, l.granted, a.application_name, a.state, pg_blocking_pids(l.pid) AS blocked_by ' +
      'FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation LEFT JOIN pg_stat_activity a ON a.pid = l.pid ' +
      'WHERE NOT l.granted AND l.pid <> $2 AND (c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) OR l.pid IN (' +
      "SELECT b.pid FROM pg_locks b JOIN pg_class bc ON bc.oid = b.relation JOIN pg_namespace bn ON bn.oid = bc.relnamespace WHERE bn.nspname = $1 AND b.locktype = 'relation')) " +
      'ORDER BY l.pid',
    [schema, selfPid],
  )).rows
  const findings: DoctorFinding[] = []
  if (waiting.length > 0) {
    findings.push({
      id: 'locks-waiting',
      severity: 'warning',
      title: `${new Set(waiting.map((lock) => lock.pid)).size} session(s) wait for a lock on the board's tables or rows`,
      detail: waiting.map((lock) => `pid ${lock.pid} (${lock.application_name || '?'}) wants ${lock.locktype === 'relation' ? `${lock.mode} on ${lock.relation}` : `a row lock (${lock.locktype} ${lock.mode})`}, blocked by ${lock.blocked_by.join(', ') || '?'}`).join('\n'),
      action: 'Look at the blocking sessions (long-transaction findings name them); finish or terminate the one that holds the lock.',
      data: { waiting },
    })
  }
  const granted = held
  const sessions = [...new Set(granted.map((lock) => lock.pid))]
  findings.push({
    id: 'locks-held',
    severity: sessions.length === 0 ? 'ok' : 'info',
    title: sessions.length === 0 ? 'No other session holds a lock on the board\'s tables' : `${sessions.length} session(s) hold locks on the board's tables`,
    detail: sessions.map((pid) => {
      const locks = granted.filter((lock) => lock.pid === pid)
      return `pid ${pid} (${locks[0]!.application_name || '?'}, ${locks[0]!.state ?? '?'}): ${locks.map((lock) => `${lock.mode} on ${lock.relation}`).join(', ')}`
    }).join('\n') || 'Every table is free.',
    data: { granted },
  })
  return findings
}

async function advisoryLockFindings(client: Client, schema: string): Promise<DoctorFinding[]> {
  const rows = (await client.query<{ pid: number; kind: string; name: string | null; application_name: string | null; client_addr: string | null; backend_start: string | null; state: string | null }>(
    "SELECT l.pid, CASE WHEN l.classid = hashtext('kanban_db.migrate')::oid AND l.objid = hashtext($1)::oid THEN 'migration' ELSE 'named' END AS kind, " +
      'names.name, a.application_name, a.client_addr::text, a.backend_start::text, a.state ' +
      'FROM pg_locks l LEFT JOIN unnest($2::text[]) AS names(name) ON l.classid = hashtext($1)::oid AND l.objid = hashtext(names.name)::oid ' +
      'LEFT JOIN pg_stat_activity a ON a.pid = l.pid ' +
      "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) " +
      "AND (l.classid = hashtext($1)::oid OR (l.classid = hashtext('kanban_db.migrate')::oid AND l.objid = hashtext($1)::oid)) ORDER BY l.pid",
    [schema, KNOWN_LOCK_NAMES],
  )).rows
  if (rows.length === 0) {
    return [{ id: 'advisory-locks', severity: 'ok', title: 'No session holds the board\'s dispatch, named or migration locks', detail: `Schema ${schema}.` }]
  }
  return rows.map((row) => {
    const who = `pid ${row.pid} (${row.application_name || 'no application name'}, ${row.client_addr ?? 'local socket'}, connected since ${row.backend_start ?? '?'}, ${row.state ?? '?'})`
    if (row.kind === 'migration') {
      return {
        id: 'migration-lock-held',
        severity: 'warning' as const,
        title: `A migration of the board holds its lock: ${who}`,
        detail: 'Other processes opening the board wait for it. A migration takes seconds; a lock held longer is a stuck or paused process.',
        action: `If that process is stuck: SELECT pg_terminate_backend(${row.pid}) (each migration step is its own transaction; nothing half done stays).`,
        data: row,
      }
    }
    return {
      id: 'advisory-lock-held',
      severity: 'info' as const,
      title: `The board's ${row.name ? `'${row.name}'` : 'named'} lock is held by ${who}`,
      detail: row.name
        ? `That session runs the board's ${row.name}; another process asking for the same lock skips its turn until it is released (or the session ends).`
        : 'A named lock (tryLock) of this board, under a name the doctor does not know.',
      action: 'Nothing to do while that process works; if it is stuck, stop it (the lock goes with its session) or SELECT pg_terminate_backend(pid).',
      data: row,
    }
  })
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`
}
