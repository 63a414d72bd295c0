import { fileURLToPath } from 'node:url'
import type { ViteUserConfig } from 'vitest/config'

const packages = fileURLToPath(new URL('./packages/', import.meta.url))

/**
 * Test configuration every package shares. In-process imports of workspace packages resolve to
 * their TypeScript sources, so a test run sees one copy of core; child processes and worker
 * threads load the built `dist/` by module name, as a real deployment does (`./dev test` builds
 * first).
 */
export function sharedTestConfig(_packageDir: string): ViteUserConfig {
  return {
    resolve: {
      alias: [
        { find: /^@kanban-db\/core$/, replacement: `${packages}core/src/index.ts` },
        { find: /^@kanban-db\/core\/internal$/, replacement: `${packages}core/src/internal.ts` },
        { find: /^@kanban-db\/core\/adapter$/, replacement: `${packages}core/src/adapter-api.ts` },
        { find: /^@kanban-db\/conformance\/vitest$/, replacement: `${packages}conformance/src/vitest.ts` },
        { find: /^@kanban-db\/conformance$/, replacement: `${packages}conformance/src/index.ts` },
        { find: /^@kanban-db\/adapter-better-sqlite3$/, replacement: `${packages}adapter-better-sqlite3/src/index.ts` },
        { find: /^@kanban-db\/adapter-node-sqlite$/, replacement: `${packages}adapter-node-sqlite/src/index.ts` },
        { find: /^@kanban-db\/adapter-sql-js$/, replacement: `${packages}adapter-sql-js/src/index.ts` },
        { find: /^@kanban-db\/adapter-postgres$/, replacement: `${packages}adapter-postgres/src/index.ts` },
      ],
    },
    test: {
      include: ['test/**/*.test.ts'],
      pool: 'forks',
      testTimeout: 60_000,
      hookTimeout: 60_000,
      reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
    },
  }
}
