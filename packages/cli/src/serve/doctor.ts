import { runDoctor } from '../doctor/index.js'
import type { DoctorRun } from './health-panel.js'

/** The doctor the health panel runs: the `kanban-db doctor` command's checks. */
export const doctor: DoctorRun = (target, options) => runDoctor(target, options)
