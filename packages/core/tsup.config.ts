import { defineConfig } from 'tsup'

export default defineConfig({
  // The root (applications), /adapter (adapter and engine authors), /internal (kanban-db's own
  // packages). They share one copy of every module through chunks: without splitting, each CJS entry
  // would carry its own copy of the error classes, and `instanceof` would fail across subpaths.
  entry: { index: 'src/index.ts', adapter: 'src/adapter-api.ts', internal: 'src/internal.ts' },
  format: ['esm', 'cjs'],
  splitting: true,
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node22',
  // tsup rewrites `node:sqlite` to `sqlite` by default, which does not exist.
  removeNodeProtocol: false,
  // createRequire(import.meta.url) and new URL(..., import.meta.url) in the CJS build.
  shims: true,
})
