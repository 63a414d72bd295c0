import type { DoctorRun } from './health-panel.js'

/** The doctor the health panel runs; undefined while the doctor is not part of this package. */
export const doctor: DoctorRun | undefined = undefined
