import type { CompiledQuery, Compilable, Kysely, QueryResult } from 'kysely'

/**
 * A query built with Kysely once and then run many times with new values: the board's hot path
 * (claim, complete, heartbeat and their run and event rows) runs the same few statements thousands
 * of times a second, and building plus compiling a query costs 5-50 µs each time, as much as
 * SQLite takes to run it.
 *
 * The query is written once, as any Kysely query, with a stand-in for each value that changes from
 * call to call (`params.taskId`); the stand-ins become bound parameters. Its shape must not depend
 * on the values (no clause added for some values only); write one prepared query per shape. The
 * compiled SQL is kept per dialect, so the same definition serves every board, whatever its engine.
 *
 * Running it still passes the query through the Kysely instance's plugins (`transformQuery`), so a
 * plugin that refuses queries (the write path's guard refuses queries of a transaction that is
 * over) refuses these too; a plugin that rewrites queries is not supported and is reported.
 *
 * @example
 * ```ts
 * const taskById = new PreparedQuery<BoardSchema, { id: string }, TaskRow>((db, params) =>
 *   db.selectFrom('tasks').selectAll().where('id', '=', params.id),
 * )
 * const { rows } = await taskById.execute(trx, { id: 't1' })
 * ```
 */
export class PreparedQuery<DB, P extends object, R = unknown> {
  readonly #build: (db: Kysely<DB>, params: P) => Compilable<unknown>
  readonly #compiled = new WeakMap<object, CompiledQuery>()

  /**
   * `build` writes the query with `params.<name>` wherever a per-call value goes. `R` is the type
   * of the rows it returns (`selectAll`, `returningAll`), if any.
   */
  constructor(build: (db: Kysely<DB>, params: P) => Compilable<unknown>) {
    this.#build = build
  }

  /** Runs the query on `db` (a board's Kysely or a transaction's) with `values` for the stand-ins. */
  async execute(db: Kysely<DB>, values: P): Promise<QueryResult<R>> {
    const compiled = this.#compiledFor(db)
    const executor = db.getExecutor()
    if (executor.transformQuery(compiled.query, compiled.queryId) !== compiled.query) {
      throw new Error('kanban-db: a Kysely plugin that rewrites queries cannot be used with the board (its prepared queries are compiled once).')
    }
    const parameters = compiled.parameters.map((parameter) => (parameter instanceof Placeholder ? valueOf(values, parameter.name) : parameter))
    return db.executeQuery<R>({ ...compiled, parameters })
  }

  #compiledFor(db: Kysely<DB>): CompiledQuery {
    // The compiled SQL depends only on the dialect: one compilation per dialect adapter class.
    const dialect = db.getExecutor().adapter.constructor
    let compiled = this.#compiled.get(dialect)
    if (!compiled) {
      const params = new Proxy({} as P, { get: (_target, name) => new Placeholder(String(name)) })
      // Compiled without the instance's plugins: Kysely's compile() applies them, and what is kept
      // here serves every board of the dialect. The plugins of each call run in execute().
      compiled = this.#build(db.withoutPlugins(), params).compile()
      this.#compiled.set(dialect, compiled)
    }
    return compiled
  }
}

/** Where a per-call value goes in a prepared query's parameters. */
class Placeholder {
  constructor(readonly name: string) {}
}

function valueOf(values: object, name: string): unknown {
  const value = (values as Record<string, unknown>)[name]
  if (value === undefined) throw new Error(`kanban-db bug: prepared query run without a value for ${name}`)
  return value
}
