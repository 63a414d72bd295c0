/**
 * `kanban-db serve`: the live board in the browser.
 * @packageDocumentation
 */
export { serveBoard, type RunningBoardServer, type ServeOptions } from './serve-board.js'
export type { DoctorRun, HealthFinding } from './health-panel.js'
