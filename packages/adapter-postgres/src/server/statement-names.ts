import type pg from 'pg'

/**
 * Server-side prepared statements for the board's statements. node-postgres sends an unnamed
 * statement as Parse, Bind, Execute every time, so the server parses and plans it on every call; a
 * named statement is parsed and planned once per connection and then only bound and executed. The
 * board runs a few dozen statement texts (compiled once by core's PreparedQuery) thousands of times:
 * measured with the board's own statements in 4 x 8 raw loops, naming them cut the server's CPU per
 * task by about 40 % (see the bench README).
 *
 * Names are given per statement text, the same in every connection of this process; a connection
 * prepares a name the first time it runs it (node-postgres keeps track). Texts beyond
 * {@link MAX_NAMED_STATEMENTS} (ad-hoc queries through `board.db` with varying shapes) run unnamed,
 * so no connection accumulates prepared statements without bound, and so do statements other than
 * SELECT, INSERT, UPDATE, DELETE and WITH (DDL a caller runs once gains nothing from a name).
 */
export const MAX_NAMED_STATEMENTS = 256

const names = new Map<string, string>()
const DML = /^\s*(select|insert|update|delete|with)\b/i

/** The query for node-postgres: named while the text is one of the first MAX_NAMED_STATEMENTS seen. */
export function statementFor(text: string, values: readonly unknown[]): pg.QueryConfig {
  let name = names.get(text)
  if (name === undefined && names.size < MAX_NAMED_STATEMENTS && DML.test(text)) {
    name = `kanban_db_${names.size + 1}`
    names.set(text, name)
  }
  return name === undefined ? { text, values: values as unknown[] } : { name, text, values: values as unknown[] }
}
