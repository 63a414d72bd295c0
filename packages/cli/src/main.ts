#!/usr/bin/env node
// The `kanban-db` command. Placeholder: the command table lands next.
process.stderr.write('kanban-db: not built yet\n')
process.exitCode = 1
