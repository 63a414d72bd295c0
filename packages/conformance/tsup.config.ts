import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts', 'src/vitest.ts', 'src/cli.ts', 'src/child.ts', 'src/worker.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: ['src/index.ts', 'src/vitest.ts'] },
  sourcemap: true,
  clean: true,
  target: 'node22',
  removeNodeProtocol: false,
  // createRequire(import.meta.url) and new URL(..., import.meta.url) in the CJS build.
  shims: true,
  external: ['vitest'],
})
