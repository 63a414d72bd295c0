#!/usr/bin/env node
// The `kanban-db` command: see, change and follow a board (a SQLite file or a PostgreSQL URL).
//
// Signals are taken before anything else loads: a command that runs until stopped (`events
// --follow`, `serve`) stops cleanly on SIGINT/SIGTERM even when the signal comes while the command
// is still loading; any other command ends at once with 128 + the signal's number, as shells expect.
const RUN_UNTIL_STOPPED = new Set(['events', 'serve'])
const argv = process.argv.slice(2)
const controller = new AbortController()
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    if (RUN_UNTIL_STOPPED.has(argv[0] ?? '')) controller.abort()
    else process.exit(code)
  })
}
const { runCli } = await import('./commands/run-cli.js')
process.exitCode = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal })
