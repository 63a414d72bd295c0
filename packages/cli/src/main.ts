#!/usr/bin/env node
// The `kanban-db` command: see, change and follow a board (a SQLite file or a PostgreSQL URL).
import { runCli } from './commands/run-cli.js'

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env })
process.exitCode = code
