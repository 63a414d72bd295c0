// An adapter written outside the monorepo against the published packages: node:sqlite under its own name.
import { createAdapter as createNodeSqliteAdapter } from '@kanban-db/adapter-node-sqlite'

export async function createAdapter() {
  const inner = await createNodeSqliteAdapter()
  return { ...inner, identity: { ...inner.identity, name: 'my-adapter', moduleName: 'my-adapter' } }
}

export default createAdapter
