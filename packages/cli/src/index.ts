/**
 * @kanban-db/cli as a library: the pieces behind the `kanban-db` command, for tools that embed them.
 * @packageDocumentation
 */
export { describeTarget, openBoardTarget, openForCommand, parseBoardTarget, type BoardTarget, type OpenedBoard, type OpenMode } from './board-target.js'
export { runCli, BOARD_ENV, type CliIo } from './commands/run-cli.js'
export { EXIT, exitCodeFor, type ExitCode } from './commands/exit-codes.js'
export { runDoctor, formatDoctorReport, type DoctorFinding, type DoctorOptions, type DoctorReport, type DoctorSeverity } from './doctor/index.js'
export { serveBoard, type RunningBoardServer, type ServeOptions } from './serve/index.js'
