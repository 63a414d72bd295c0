import { registerConformance } from '@kanban-db/conformance/vitest'
import { postgres } from '../src/index.js'

// The Postgres column of the conformance suite, on the server of KANBAN_DB_POSTGRES_URL (./dev test
// starts a throwaway one). Without it every case is registered as skipped, with the reason. Children
// import `postgres` from this package's built dist by module name, as a deployment does.
await registerConformance({ postgres, moduleName: '@kanban-db/adapter-postgres' })
