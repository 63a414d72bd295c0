import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'
import { TransactionTimeout } from '../errors/errors.js'

/**
 * The Kysely plugin on a write callback's `trx`, for every engine's write path: once the
 * transaction is over (the callback returned, or ran past its timeout), every query through that
 * `trx` is refused. A late query can then never run in the next transaction on the same pooled
 * connection, or outside any transaction, and a timed-out callback cannot sneak work in before the
 * rollback. An engine puts one on each callback's `trx` (`trx.withPlugin(guard)`).
 */
export class TransactionGuard implements KyselyPlugin {
  #ended = false
  #timedOut = false

  /** True once the transaction is over for its callback. */
  get ended(): boolean {
    return this.#ended
  }

  /** True when it ended because the callback ran past the transaction timeout. */
  get timedOut(): boolean {
    return this.#timedOut
  }

  /** The callback finished (or failed): its `trx` is closed. */
  end(): void {
    this.#ended = true
  }

  /** The callback ran past its timeout: its `trx` is closed and its work is rolled back. */
  timeOut(): void {
    this.#timedOut = true
    this.#ended = true
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.#ended) {
      throw new TransactionTimeout(
        this.#timedOut
          ? 'This write transaction timed out and was rolled back: a later query through its trx was refused. Nothing of it is kept; start a new writeTxn.'
          : 'This write transaction is over (its callback returned): a query through its trx was refused. Start a new writeTxn.',
      )
    }
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }
}
