import type { SourceRow } from './python-source.js'

/** A Python link (`parent_id` must be done before `child_id`) as a kanban-db dependency. */
export interface SourceLink {
  readonly child: string
  readonly parent: string
  /** `child<-parent`, how the report names the link. */
  readonly key: string
}

/**
 * The Python board's links that kanban-db can keep: both tasks exist, not a self-link, and no
 * cycle (kanban-db refuses cycles, `DependencyCycle`; a task in a cycle could never be ready).
 * Links are taken in source order and a link that would close a cycle is dropped with its reason,
 * so the result does not depend on the batch size.
 */
export function acyclicLinks(rows: readonly SourceRow[], taskIds: ReadonlySet<string>): { kept: SourceLink[]; dropped: Array<{ key: string; reason: string }> } {
  const kept: SourceLink[] = []
  const dropped: Array<{ key: string; reason: string }> = []
  const parentsOf = new Map<string, string[]>()
  const seen = new Set<string>()
  for (const row of rows) {
    const child = String(row['child_id'])
    const parent = String(row['parent_id'])
    const key = `${child}<-${parent}`
    if (seen.has(key)) {
      dropped.push({ key, reason: 'a duplicate of an earlier link' })
      continue
    }
    seen.add(key)
    if (!taskIds.has(child) || !taskIds.has(parent)) {
      dropped.push({ key, reason: `task ${taskIds.has(child) ? parent : child} is not in the source` })
      continue
    }
    if (child === parent) {
      dropped.push({ key, reason: 'a task cannot depend on itself' })
      continue
    }
    if (reaches(parentsOf, parent, child)) {
      dropped.push({ key, reason: `it would close a dependency cycle (${parent} already waits for ${child})` })
      continue
    }
    parentsOf.set(child, [...(parentsOf.get(child) ?? []), parent])
    kept.push({ child, parent, key })
  }
  return { kept, dropped }
}

/** True when `from` already waits (directly or not) for `target`. */
function reaches(parentsOf: ReadonlyMap<string, readonly string[]>, from: string, target: string): boolean {
  const stack = [from]
  const visited = new Set<string>()
  while (stack.length > 0) {
    const node = stack.pop()!
    if (node === target) return true
    if (visited.has(node)) continue
    visited.add(node)
    stack.push(...(parentsOf.get(node) ?? []))
  }
  return false
}
