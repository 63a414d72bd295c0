import type { ConformanceCase } from '../case.js'
import { capabilityManifest } from './core.capability-manifest.js'
import { fileRoundtrip } from './core.file-roundtrip.js'
import { isolatedInstances } from './core.isolated-instances.js'

/** Every conformance case, in matrix order. */
export const allCases: readonly ConformanceCase[] = [
  fileRoundtrip,
  isolatedInstances,
  capabilityManifest,
]
