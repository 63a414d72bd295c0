import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { createAdapter } from '@kanban-db/adapter-better-sqlite3'
import { openBoard, type SqliteBoard } from '@kanban-db/core'
import { runDoctor, type DoctorFinding, type DoctorReport } from '../src/doctor/index.js'

const children = new Set<ChildProcess>()
const dirs = new Set<string>()

afterEach(() => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  dirs.clear()
})

/** A fresh directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kanban-db-doctor-'))
  dirs.add(dir)
  return dir
}

/** Creates a board at `dir/board.db` (better-sqlite3), lets `fill` write to it, closes it; returns its path. */
export async function makeBoard(dir: string, fill?: (board: SqliteBoard) => Promise<void>): Promise<string> {
  const path = join(dir, 'board.db')
  const board = await openBoard({ path, adapter: await createAdapter() })
  try {
    await fill?.(board)
  } finally {
    await board.close()
  }
  return path
}

/** Starts `fixtures/doctor-holder.mjs` on `path` and waits for its "ready". */
export async function startHolder(path: string, mode: 'hold' | 'big-wal' | 'fs-read' | 'two-copies' | `claim:${number}` = 'hold'): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'doctor-holder.mjs'), path, mode], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let stderr = ''
  let stdout = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk
      if (stdout.split('\n').includes('ready')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before it was ready: ${stdout} ${stderr}`)))
  })
  return child
}

/** Kills `child` with SIGKILL and waits until it is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

/** Waits until `check` holds, looking again every 20 ms; the test's timeout bounds it. */
export async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20))
}

/** Runs the doctor on a SQLite board; every report must survive `--json` (no bigint, no cycle). */
export async function doctor(path: string): Promise<DoctorReport> {
  const report = await runDoctor({ engine: 'sqlite', path })
  JSON.stringify(report)
  return report
}

/** The findings with `id`. */
export function findingsOf(report: DoctorReport, id: string): DoctorFinding[] {
  return report.findings.filter((finding) => finding.id === id)
}

/** Ids of the findings that are neither ok nor info. */
export function problems(report: DoctorReport): string[] {
  return report.findings.filter((finding) => finding.severity === 'warning' || finding.severity === 'error').map((finding) => finding.id)
}

/**
 * What the doctor could change: every file in the board's directory, with its size, mtime, inode,
 * mode and a hash of its bytes. Read with fs by the test process, which holds no connection to
 * any of them (the holders are other processes, whose locks an fs read here cannot drop).
 */
export function directoryState(dir: string): Record<string, string> {
  const state: Record<string, string> = {}
  for (const name of readdirSync(dir).sort()) {
    const stats = statSync(join(dir, name), { bigint: true })
    const hash = createHash('sha256').update(readFileSync(join(dir, name))).digest('hex') // --allow-fs: see above
    state[name] = `${stats.size}:${stats.mtimeNs}:${stats.ino}:${stats.mode}:${hash}`
  }
  return state
}
