import { defineConfig, mergeConfig } from 'vitest/config'
import { sharedTestConfig } from '../../vitest.shared.js'

// Each test runs whole programs (npm, tsc, the conformance CLI) synchronously: generous on a loaded machine.
export default mergeConfig(sharedTestConfig(import.meta.dirname), defineConfig({ test: { testTimeout: 240_000 } }))
