import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { contenders } from './contenders.ts'
import { type Figures, NotMeasured } from './contender.ts'
import { describeEnvironment, filesystemOf } from './environment.ts'
import { goals, type Repetition } from './goals.ts'
import { parseOptions } from './options.ts'
import { renderHtml } from './html-report.ts'
import { judge, renderReport, repetitionsAsJson } from './report.ts'
import { recordedPragmas } from './scenarios/board-loop.ts'
import { BENCH_ADAPTERS, useAdapter } from './board-client.ts'

/**
 * `./dev bench [--smoke] [--json FILE] [--dir DIR]`: runs every contender once per repetition, in
 * the same order each time (so each ratio pairs neighbours measured seconds apart), then prints
 * figures, ratios and goal verdicts. Exits 1 when an invariant broke, 2 on bad usage or tmpfs;
 * never on a speed figure.
 */
async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const fs = filesystemOf(nearestExisting(options.dir))
  if (fs.isTmpfs) {
    console.error(
      `bench: ${options.dir} is on ${fs.name} (${fs.magic}), where fsync costs nothing: every ratio against the disk would be meaningless. ` +
        'Pass --dir on a disk-backed filesystem (ext4, xfs, btrfs).',
    )
    return 2
  }
  mkdirSync(options.dir, { recursive: true })
  useAdapter(BENCH_ADAPTERS[options.adapter]!)
  const environment = describeEnvironment(options.dir)
  const runDir = mkdtempSync(join(options.dir, 'run-'))
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      rmSync(runDir, { recursive: true, force: true })
      console.error(`bench: interrupted (${signal}); removed ${runDir}`)
      process.exit(130)
    })
  }
  const list = (await contenders(environment)).filter((c) => !options.only || options.only.some((part) => c.id.includes(part)))
  const repetitions: Repetition[] = []
  const failures: string[] = []
  const notes = new Set<string>()
  const notMeasured = new Map<string, string>()
  const samples: Record<string, Record<string, readonly number[]>> = {}
  const settings =
    `repetitions: ${options.repetitions}${options.smoke ? ' (smoke)' : ''}; ${options.contenderMs} ms per contender, ` +
    `${options.fleetMs} ms per multi-process scenario; ${options.opens} opens per open figure`
  console.error(`bench: ${settings}; databases under ${runDir}`)
  try {
    for (let rep = 0; rep < options.repetitions; rep++) {
      const figures = new Map<string, Figures>()
      for (const contender of list) {
        if (notMeasured.has(contender.id)) continue
        const dir = join(runDir, `${rep}-${contender.id.replaceAll('/', '-')}`)
        mkdirSync(dir)
        process.stderr.write(`bench: repetition ${rep + 1}/${options.repetitions} ${contender.id} ... `)
        const began = Date.now()
        try {
          const durationMs = contender.multiProcess ? options.fleetMs : options.contenderMs
          const result = await contender.run({ dir, durationMs, options, earlier: figures })
          figures.set(contender.id, result.figures)
          failures.push(...result.failures.map((f) => `${contender.id} (repetition ${rep + 1}): ${f}`))
          for (const note of result.notes ?? []) notes.add(`${contender.id}: ${note}`)
          if (result.samples) samples[`${rep}:${contender.id}`] = result.samples
          process.stderr.write(`${Object.entries(result.figures).map(([k, v]) => `${k}=${Math.round(v * 100) / 100}`).join(' ')}${result.failures.length ? ' INVARIANT FAILURE' : ''} (${((Date.now() - began) / 1000).toFixed(1)} s)\n`)
        } catch (error) {
          if (error instanceof NotMeasured) {
            notMeasured.set(contender.id, error.message)
            process.stderr.write(`not measured: ${error.message}\n`)
          } else {
            const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
            failures.push(`${contender.id} (repetition ${rep + 1}) died: ${message}`)
            process.stderr.write(`FAILED: ${message}\n`)
          }
        } finally {
          if (!process.env['BENCH_KEEP']) rmSync(dir, { recursive: true, force: true })
        }
      }
      repetitions.push(figures)
      environment.loadPerRepetition.push(loadavg()[0]!)
    }
  } finally {
    if (process.env['BENCH_KEEP']) console.error(`bench: BENCH_KEEP is set; databases kept under ${runDir}`)
    else rmSync(runDir, { recursive: true, force: true })
  }
  Object.assign(environment.pragmas, recordedPragmas)
  const verdicts = judge(goals(), repetitions)
  console.log(
    renderReport({ environment, contenders: list, repetitions, goals: verdicts, failures, notMeasured, notes: [...notes], settings }),
  )
  const report = {
    environment, settings: options, figures: repetitionsAsJson(repetitions), goals: verdicts, failures,
    notMeasured: Object.fromEntries(notMeasured), notes: [...notes], samples,
  }
  if (options.jsonPath) {
    writeFileSync(options.jsonPath, `${JSON.stringify(report, null, 1)}\n`)
    console.error(`bench: wrote ${options.jsonPath}`)
  }
  if (options.htmlPath) {
    writeFileSync(options.htmlPath, renderHtml(report))
    console.error(`bench: wrote ${options.htmlPath}`)
  }
  return failures.length === 0 ? 0 : 1
}

/** `dir` itself or its closest existing ancestor (statfs before creating anything). */
function nearestExisting(dir: string): string {
  let current = dir
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current)
  return current
}

process.exitCode = await main()
