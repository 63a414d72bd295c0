import type { ConformanceCase } from '../case.js'
import { fileRoundtrip } from './core.file-roundtrip.js'

/** Every conformance case, in matrix order. */
export const allCases: readonly ConformanceCase[] = [fileRoundtrip]
