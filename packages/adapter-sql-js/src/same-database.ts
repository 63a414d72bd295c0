/**
 * True when two images hold the same database: equal bytes, except the header fields SQLite rewrites
 * on every write transaction without changing content (the change counter at 24..27, version-valid-for
 * at 92..95 and the writer's SQLITE_VERSION_NUMBER at 96..99). sql.js's export of a file another
 * SQLite wrote differs in exactly those even when nothing was written.
 */
export function sameDatabase(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let index = 0; index < a.length; index += 1) {
    if (a[index] === b[index]) continue
    if ((index >= 24 && index < 28) || (index >= 92 && index < 100)) continue
    return false
  }
  return true
}
