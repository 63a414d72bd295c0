import { describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import * as core from '@kanban-db/core'
import { KANBAN_DB_ERROR_CODES, KanbanDbError, RateLimited, WorkAborted, type AnyKanbanDbError } from '@kanban-db/core'
import { advice } from './errors-switch/exhaustive.js'

const fixture = (name: string): string => fileURLToPath(new URL(`./errors-switch/${name}`, import.meta.url))

/** Type errors of one fixture, compiled with the repository's strict settings. */
function typeErrors(file: string): string[] {
  const configPath = fileURLToPath(new URL('../../../tsconfig.base.json', import.meta.url))
  const { config } = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path))
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, fileURLToPath(new URL('..', import.meta.url)))
  const program = ts.createProgram([file], { ...options, noEmit: true })
  return ts.getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file?.fileName === file)
    .map((diagnostic) => `TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`)
}

/** One instance of every error class core exports, found by its code. */
function everyError(): AnyKanbanDbError[] {
  const errors: AnyKanbanDbError[] = [new RateLimited('x'), new WorkAborted('shutdown', 'x')]
  for (const value of Object.values(core)) {
    if (typeof value !== 'function' || !(value.prototype instanceof KanbanDbError)) continue
    if (value === RateLimited || value === WorkAborted) continue
    errors.push(new (value as new (message: string) => AnyKanbanDbError)('x'))
  }
  return errors
}

describe('errors as a union discriminated by code', () => {
  it('has one exported class per code in KANBAN_DB_ERROR_CODES, and no code without a class', () => {
    const codes = everyError().map((error) => error.code).sort()
    expect(codes).toEqual([...KANBAN_DB_ERROR_CODES].sort())
  })

  it('lets a switch over error.code be exhaustive: every code has a branch', () => {
    for (const error of everyError()) expect(advice(error)).toEqual(expect.any(String))
    expect(typeErrors(fixture('exhaustive.ts'))).toEqual([])
  })

  it('refuses to compile a switch that forgets a code (control: the exhaustive one compiles)', () => {
    const errors = typeErrors(fixture('missing-case.fails.ts'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^TS2322: Type '.*' is not assignable to type 'never'/)
  })

  it('types details per code: a field read as another code\'s type does not compile', () => {
    const errors = typeErrors(fixture('wrong-details.fails.ts'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^TS2322: Type 'string \| 0' is not assignable to type 'number'/)
  })

  it('narrows anything thrown to the union with isKanbanDbError', () => {
    const thrown: unknown = new core.InvalidInput('bad', { details: { field: 'priority', value: -1 } })
    expect(KanbanDbError.isKanbanDbError(thrown) && thrown.code === 'INVALID_INPUT' && thrown.details.field).toBe('priority')
  })
})
