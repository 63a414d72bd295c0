#!/usr/bin/env node
import { closeSync, openSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { DEFAULT_TIERS, TIERS, type ConformanceCase, type Tier } from './case.js'
import { allCases } from './cases/index.js'
import { formatMatrix } from './matrix.js'
import { SKIPPED_BY_REQUEST } from './planner.js'
import { reportPassed, type AdapterReport, type CaseResult } from './report.js'
import { descriptorGuardOn } from './descriptor-leaks.js'
import { describeError } from './run-task.js'
import { runSuite } from './runner.js'
import { loadSubject, POSTGRES_URL_ENV, ServerUnreachable, subjectIdentity, type Subject } from './subject.js'

const usage = `Usage: kanban-conformance --adapters MODULE[,MODULE...] [--postgres-url URL] [--tiers core,txn,...] [--only ID[,ID]]... [--skip ID[,ID]]... [--json FILE]

Runs the kanban-db conformance suite against each subject (loaded by module name from the current
directory) and prints a matrix: one row per case, one column per subject, then the reason for every
skip and failure. Exit code 1 on any FAIL or XPASS, 2 on bad arguments.
A subject is a SQLite adapter, or the Postgres engine (@kanban-db/adapter-postgres) on the server of
--postgres-url or ${POSTGRES_URL_ENV} (without one, its cases skip).
Tiers: ${TIERS.join(', ')} (default: all but stress). --only and --skip take case ids (repeat them
or separate ids by commas); a case left out with --skip shows as skip, saying it was skipped by
request. --list prints the cases.`

/**
 * What the run has produced so far, so that an uncaught error (an adapter's callback throwing
 * EMFILE, say) still ends with the matrix and the JSON report: the finished columns, the column
 * being run with its results, and the cases and subjects still to come.
 */
interface Progress {
  startedAt: string
  cases: readonly ConformanceCase[]
  skip: readonly string[]
  json: string | undefined
  finished: AdapterReport[]
  current: { identity: Omit<AdapterReport, 'results'>; results: CaseResult[] } | undefined
  pending: string[]
}

let progress: Progress | undefined
let ending = false

/**
 * One descriptor held from the start (on /dev/null) and given up just before the report is
 * written, so a process that ran out of descriptors can still write it.
 */
let reserve: number | undefined = openReserve()

function openReserve(): number | undefined {
  try {
    return openSync('/dev/null', 'r')
  } catch {
    return undefined
  }
}

function releaseReserve(): void {
  if (reserve === undefined) return
  closeSync(reserve)
  reserve = undefined
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      adapters: { type: 'string' },
      'postgres-url': { type: 'string' },
      tiers: { type: 'string' },
      only: { type: 'string', multiple: true },
      skip: { type: 'string', multiple: true },
      json: { type: 'string' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.list) {
    for (const testCase of allCases) console.log(`${testCase.id.padEnd(44)} ${testCase.tier.padEnd(12)} ${testCase.title}`)
    return 0
  }
  if (values.help || !values.adapters) {
    console.log(usage)
    return values.help ? 0 : 2
  }
  const tiers = values.tiers ? (values.tiers.split(',').map((tier) => tier.trim()) as Tier[]) : DEFAULT_TIERS
  const unknownTier = tiers.find((tier) => !TIERS.includes(tier))
  if (unknownTier) {
    console.error(`Unknown tier '${unknownTier}'. Tiers: ${TIERS.join(', ')}.`)
    return 2
  }
  const only = caseIds(values.only)
  const skip = caseIds(values.skip) ?? []
  const unknownId = [...(only ?? []), ...skip].find((id) => !allCases.some((testCase) => testCase.id === id))
  if (unknownId) {
    console.error(`No case '${unknownId}'. kanban-conformance --list prints every case.`)
    return 2
  }
  // --only names cases explicitly, so it may pick a stress case without --tiers.
  const cases = only
    ? allCases.filter((testCase) => only.includes(testCase.id) && (!values.tiers || tiers.includes(testCase.tier)))
    : allCases.filter((testCase) => tiers.includes(testCase.tier))
  if (cases.length === 0) {
    console.error('No case matches --tiers/--only.')
    return 2
  }
  const startedAt = new Date().toISOString()
  const modules = values.adapters.split(',').map((name) => name.trim()).filter(Boolean)
  const run: Progress = { startedAt, cases, skip, json: values.json, finished: [], current: undefined, pending: [...modules] }
  progress = run
  for (const moduleName of modules) {
    run.pending.shift()
    run.finished.push(await runAdapter(moduleName, cases, values['postgres-url'], skip))
    run.current = undefined
  }
  return writeReport(run.startedAt, run.finished, run.json)
}

/** Prints the matrix and writes the JSON report; the exit code (0 passed, 1 not). */
function writeReport(startedAt: string, adapters: AdapterReport[], json: string | undefined): number {
  const report = { startedAt, node: process.version, adapters, passed: reportPassed({ adapters }) }
  console.log(formatMatrix(report))
  releaseReserve()
  if (json) writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`)
  return report.passed ? 0 : 1
}

/**
 * Ends the run after an uncaught error: the case that was running fails with the error, the cases
 * and subjects not reached fail saying they were not run, and the matrix and the JSON report are
 * written as after a whole run. Exit code 1.
 */
function endAfterUncaught(error: unknown): void {
  if (ending) return // a second error while the report is written: the first one is being reported
  ending = true
  const run = progress
  const reason = `the runner stopped on an uncaught error: ${describeError(error)}`
  process.stderr.write(`\n${reason}\n`)
  if (run === undefined) process.exit(1)
  const notRun = (results: readonly CaseResult[], first: string): CaseResult[] =>
    run.cases
      .filter(({ id }) => !results.some((result) => result.id === id))
      .map(({ id, tier, title }, index): CaseResult => ({ id, tier, title, status: 'fail', ms: 0, notes: [], detail: index === 0 ? first : `not run: ${reason}` }))
  const adapters = [...run.finished]
  if (run.current !== undefined) {
    const { identity, results } = run.current
    adapters.push({ ...identity, results: [...results, ...notRun(results, `failed while running: ${reason}`)] })
  }
  for (const moduleName of run.pending) adapters.push({ name: moduleName, moduleName, driverVersion: '?', engineVersion: '?', results: notRun([], `not run: ${reason}`) })
  try {
    writeReport(run.startedAt, adapters, run.json)
  } catch (writeError) {
    process.stderr.write(`could not write the report: ${describeError(writeError)}\n`)
  }
  // Now, before the run goes on: stdout and stderr are written synchronously to files and pipes on Linux.
  process.exit(1)
}

/**
 * One subject's column; a subject that cannot even load (or whose server does not answer) fails
 * every case with that reason.
 */
async function runAdapter(moduleName: string, cases: readonly ConformanceCase[], postgresUrl: string | undefined, skip: readonly string[]): Promise<AdapterReport> {
  let subject: Subject
  try {
    subject = await loadSubject(moduleName, postgresUrl === undefined ? {} : { postgresUrl })
  } catch (error) {
    const detail = error instanceof ServerUnreachable ? error.message : `the adapter did not load: ${describeError(error)}`
    const results: CaseResult[] = cases.map(({ id, tier, title }) =>
      skip.includes(id) ? { id, tier, title, status: 'skip', ms: 0, detail: SKIPPED_BY_REQUEST, notes: [] } : { id, tier, title, status: 'fail', ms: 0, detail, notes: [] },
    )
    const engine = error instanceof ServerUnreachable ? { engine: 'postgres' as const, name: 'postgres' } : { name: moduleName }
    return { moduleName, driverVersion: '?', engineVersion: '?', ...engine, results }
  }
  process.stderr.write(`${subject.name}: `)
  const current = { identity: subjectIdentity(subject), results: [] as CaseResult[] }
  if (progress !== undefined) progress.current = current
  const report = await runSuite(cases, subject, {
    skip,
    onResult: (result) => {
      current.results.push(result)
      process.stderr.write(PROGRESS[result.status])
    },
  })
  process.stderr.write('\n')
  return report
}

/** The ids of a repeatable flag whose values may also list ids separated by commas. */
function caseIds(values: readonly string[] | undefined): string[] | undefined {
  return values?.flatMap((value) => value.split(',')).map((id) => id.trim()).filter(Boolean)
}

const PROGRESS: Readonly<Record<CaseResult['status'], string>> = { pass: '.', skip: 's', fail: 'F', xfail: 'x', xpass: 'X' }

if (descriptorGuardOn()) {
  process.on('uncaughtException', endAfterUncaught)
  process.on('unhandledRejection', endAfterUncaught)
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error)
    process.exit(1)
  },
)
