import { dirname } from 'node:path'
import { checkFilesystem, type FilesystemCheckOptions } from '@kanban-db/core/internal'
import type { DoctorFinding } from './finding.js'

/**
 * The `filesystem` finding for the board at `realPath`: an error (`filesystem-unsupported`) when its
 * folder is on NFS, SMB/CIFS or 9p (by the `f_type` statfs(2) gives), ok on a local filesystem.
 * `statfs` reads the folder's filesystem type; the default is the real `fs.statfsSync`.
 */
export function filesystemFinding(realPath: string, statfs?: FilesystemCheckOptions['statfs']): DoctorFinding {
  const filesystem = checkFilesystem(dirname(realPath), { allowUnsupported: true, ...(statfs === undefined ? {} : { statfs }) })
  if (filesystem.unsupported) {
    return {
      id: 'filesystem-unsupported',
      severity: 'error',
      title: `The board lives on ${filesystem.name}, where SQLite's WAL mode is not safe`,
      detail: `${dirname(realPath)} is on ${filesystem.name} (statfs type 0x${filesystem.magic.toString(16)}): no shared memory and POSIX locks every process sees. kanban-db refuses to open boards there.`,
      action: 'Move the board to a local disk (or a local volume of the container), or put it on PostgreSQL.',
      data: filesystem,
    }
  }
  return { id: 'filesystem', severity: 'ok', title: `The board lives on ${filesystem.name}`, detail: `${dirname(realPath)}: a local filesystem.`, data: filesystem }
}
