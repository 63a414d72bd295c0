import { defineConfig } from 'tsup'

export default defineConfig({
  entry: ['src/index.ts', 'src/internal.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node22',
  // tsup rewrites `node:sqlite` to `sqlite` by default, which does not exist.
  removeNodeProtocol: false,
  // createRequire(import.meta.url) and new URL(..., import.meta.url) in the CJS build.
  shims: true,
})
