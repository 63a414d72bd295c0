#!/usr/bin/env node
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadAdapter } from '@kanban-db/core'
import { TIERS, type Tier } from './case.js'
import { allCases } from './cases/index.js'
import { formatMatrix } from './matrix.js'
import { reportPassed, type AdapterReport, type ConformanceReport } from './report.js'
import { runSuite } from './runner.js'

const usage = `Usage: kanban-conformance --adapters MODULE[,MODULE...] [--tiers core,txn,...] [--only ID] [--json FILE]

Runs the kanban-db conformance suite against each adapter (loaded by module name from the current
directory) and prints a matrix: one row per case, one column per adapter. Exit code 1 on any FAIL
or XPASS. Tiers: ${TIERS.join(', ')} (default: all but stress).`

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      adapters: { type: 'string' },
      tiers: { type: 'string' },
      only: { type: 'string', multiple: true },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help || !values.adapters) {
    console.log(usage)
    return values.help ? 0 : 2
  }
  const tiers = values.tiers ? (values.tiers.split(',') as Tier[]) : TIERS.filter((tier) => tier !== 'stress')
  const unknownTier = tiers.find((tier) => !TIERS.includes(tier))
  if (unknownTier) {
    console.error(`Unknown tier '${unknownTier}'. Tiers: ${TIERS.join(', ')}.`)
    return 2
  }
  const cases = allCases.filter((testCase) => tiers.includes(testCase.tier) && (!values.only || values.only.includes(testCase.id)))
  if (cases.length === 0) {
    console.error('No case matches --tiers/--only.')
    return 2
  }
  const adapters: AdapterReport[] = []
  for (const moduleName of values.adapters.split(',').map((name) => name.trim()).filter(Boolean)) {
    const adapter = await loadAdapter(moduleName)
    process.stderr.write(`${adapter.identity.name}: `)
    adapters.push(
      await runSuite(cases, adapter, moduleName, {
        onResult: (result) => process.stderr.write(result.status === 'pass' ? '.' : result.status === 'skip' ? 's' : 'F'),
      }),
    )
    process.stderr.write('\n')
  }
  const report: ConformanceReport = { adapters }
  console.log(formatMatrix(report))
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`)
  return reportPassed(report) ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error)
    process.exit(1)
  },
)
