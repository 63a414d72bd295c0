import { registerConformance } from '@kanban-db/conformance/vitest'
import createAdapter from '../src/index.js'

await registerConformance({ createAdapter, moduleName: '@kanban-db/adapter-better-sqlite3' })
