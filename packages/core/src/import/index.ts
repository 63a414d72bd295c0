export { importPythonBoard, type ImportPythonBoardOptions } from './import-python-board.js'
export type { DroppedItem, ImportProgress, ImportReport, ImportTable, LimitsMapping, TableCounts } from './import-report.js'
export { PYTHON_DEFAULT_FAILURE_LIMIT, IMPORT_DEFAULT_MAX_ATTEMPTS } from './map-rows.js'
