import { describe, expect, it } from 'vitest'
import { MAX_NAMED_STATEMENTS, statementFor } from '../src/server/statement-names.js'

describe('postgres engine: server-side prepared statements', () => {
  it('names each DML text once, the same name every time, and leaves DDL unnamed', () => {
    const first = statementFor('select "id" from "tasks" where "id" = $1', ['a'])
    expect(first).toMatchObject({ name: expect.stringMatching(/^kanban_db_\d+$/), values: ['a'] })
    expect(statementFor('select "id" from "tasks" where "id" = $1', ['b']).name).toBe(first.name)
    expect(statementFor('  UPDATE "tasks" set "title" = $1', ['t']).name).not.toBe(first.name)
    expect(statementFor('CREATE TRIGGER x AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION f()', []).name).toBeUndefined()
  })

  it('stops naming new texts past the bound, so no connection prepares statements without end', () => {
    for (let i = 0; i < MAX_NAMED_STATEMENTS + 10; i++) statementFor(`select ${i} as n`, [])
    expect(statementFor(`select 'one more' as n`, []).name).toBeUndefined()
    expect(statementFor('select "id" from "tasks" where "id" = $1', ['c']).name).toBeDefined()
  })
})
