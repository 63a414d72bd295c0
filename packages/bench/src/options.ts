import { isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** What one run of the bench was asked to do. */
export interface BenchOptions {
  /** Every scenario for a fraction of a second: checks invariants and prints the table. */
  readonly smoke: boolean
  /** Where to write the whole result as JSON, if anywhere. */
  readonly jsonPath: string | undefined
  /** Where to write the report as a self-contained HTML page (charts as inline SVG), if anywhere. */
  readonly htmlPath: string | undefined
  /** The directory every database and scratch file of the run lives in (must not be tmpfs). */
  readonly dir: string
  /** Alternating repetitions of every contender (at least 3 outside smoke mode). */
  readonly repetitions: number
  /** How long each single-process contender runs per repetition, in ms. */
  readonly contenderMs: number
  /** How long each multi-process scenario runs per repetition, in ms. */
  readonly fleetMs: number
  /** How many opens `raw-open` and `openBoard` time per repetition. */
  readonly opens: number
  /** Run only contenders whose id contains one of these (goals needing others print NOT MEASURED). */
  readonly only: readonly string[] | undefined
  /** The adapter every board opens through: `better-sqlite3` (default) or `node-sqlite`. */
  readonly adapter: string
}

/** The repository root (the bench lives in packages/bench/src). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

const usage = `usage: ./dev bench [--smoke] [--json FILE] [--html FILE] [--dir DIR] [--reps N] [--seconds S] [--fleet-seconds S]
  --smoke            every scenario for a fraction of a second; exits 1 only if an invariant broke
  --json FILE        also write every figure, sample and the environment as JSON
  --html FILE        also write the report as a self-contained HTML page with a chart per scenario
  --dir DIR          directory for the databases (default: .bench/ in the repository; never tmpfs)
  --reps N           alternating repetitions (default 3, at least 3 outside --smoke)
  --seconds S        seconds per single-process contender per repetition (default 2)
  --fleet-seconds S  seconds per multi-process scenario per repetition (default 5)
  --only A,B         run only the contenders whose id contains A or B (for example fleet,raw-claim)
  --adapter NAME     the adapter boards open through: better-sqlite3 (default) or node-sqlite`

/** Parses the command line. Relative paths are taken from the directory `./dev` was run in. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const base = process.env['INIT_CWD'] ?? process.cwd()
  let smoke = false
  let jsonPath: string | undefined
  let htmlPath: string | undefined
  let dir = resolve(repoRoot, '.bench')
  let repetitions: number | undefined
  let seconds: number | undefined
  let fleetSeconds: number | undefined
  let only: string[] | undefined
  let adapter = 'better-sqlite3'
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = (): string => {
      const next = argv[++i]
      if (next === undefined) fail(`${arg} needs a value`)
      return next
    }
    switch (arg) {
      case '--smoke': smoke = true; break
      case '--json': jsonPath = absolute(base, value()); break
      case '--html': htmlPath = absolute(base, value()); break
      case '--dir': dir = absolute(base, value()); break
      case '--reps': repetitions = positive(arg, value()); break
      case '--seconds': seconds = positive(arg, value()); break
      case '--fleet-seconds': fleetSeconds = positive(arg, value()); break
      case '--only': only = value().split(',').filter(Boolean); break
      case '--adapter':
        adapter = value()
        if (!['better-sqlite3', 'node-sqlite'].includes(adapter)) fail(`--adapter must be better-sqlite3 or node-sqlite, got '${adapter}'`)
        break
      case '--': break
      case '-h': case '--help': console.log(usage); process.exit(0)
      default: fail(`unknown argument ${arg}`)
    }
  }
  repetitions ??= smoke ? 1 : 3
  if (!smoke && repetitions < 3) fail('--reps must be at least 3: a figure needs min/median/max over alternating repetitions')
  return {
    smoke,
    jsonPath,
    htmlPath,
    dir,
    repetitions,
    contenderMs: Math.round((seconds ?? (smoke ? 0.15 : 2)) * 1000),
    fleetMs: Math.round((fleetSeconds ?? (smoke ? 0.6 : 5)) * 1000),
    opens: smoke ? 20 : 200,
    only,
    adapter,
  }
}

function absolute(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path)
}

function positive(name: string | undefined, text: string): number {
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) fail(`${name} needs a positive number, got '${text}'`)
  return value
}

function fail(message: string): never {
  console.error(`bench: ${message}\n${usage}`)
  process.exit(2)
}
