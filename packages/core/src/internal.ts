/**
 * `@kanban-db/core/internal`: the machinery behind the board (hygiene audits, corruption probes,
 * migrations, the write queue, parsers) for kanban-db's own packages: the conformance suite, the
 * bench and the `kanban-db` command. Not a stable API: names here can change in any release.
 * Applications use the package root.
 * @packageDocumentation
 */
export * from './index.js'
