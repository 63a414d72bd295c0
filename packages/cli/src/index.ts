/**
 * @kanban-db/cli as a library: the pieces behind the `kanban-db` command, for tools that embed them.
 * @packageDocumentation
 */
export {}
