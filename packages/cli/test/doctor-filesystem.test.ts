import { mkdtempSync, rmSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { filesystemFinding } from '../src/doctor/filesystem-finding.js'
import { doctor, findingsOf, makeBoard, tempDir } from './doctor-harness.js'

// No NFS, SMB/CIFS or 9p mount can be made on this machine kind: its kernel has none of them
// (/proc/filesystems lists no nfs, cifs, smb3 or 9p, and there are no modules to load), and an NFS
// server (nfs-kernel-server) cannot be assumed in CI. So the doctor runs for real on the local
// filesystems here (the control), and its decision is tested over the f_type numbers the kernel's
// statfs(2) returns on those mounts, written out from linux/magic.h and the CIFS/SMB2 clients.
const REMOTE_MAGIC: ReadonlyArray<[string, number]> = [
  ['NFS', 0x6969], // NFS_SUPER_MAGIC
  ['CIFS', 0xff534d42], // CIFS_SUPER_MAGIC (fs/smb/client)
  ['SMB2', 0xfe534d42], // SMB2_SUPER_MAGIC (fs/smb/client)
  ['SMB', 0x517b], // SMB_SUPER_MAGIC (the old smbfs)
  ['9p', 0x01021997], // V9FS_MAGIC (WSL2's Windows drives)
]

const shmDirs: string[] = []
afterEach(() => {
  for (const dir of shmDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

it('finds the real local filesystems here fine (filesystem), on a disk and on tmpfs', async () => {
  const dir = tempDir()
  const report = await doctor(await makeBoard(dir))
  expect(findingsOf(report, 'filesystem-unsupported')).toEqual([])
  expect(findingsOf(report, 'filesystem')[0]).toMatchObject({ severity: 'ok', data: { magic: Number(statfsSync(dir).type) >>> 0, unsupported: false } })

  const shm = mkdtempSync('/dev/shm/kanban-db-doctor-')
  shmDirs.push(shm)
  expect(Number(statfsSync(shm).type) >>> 0).toBe(0x01021994) // TMPFS_MAGIC, read from the kernel
  const onTmpfs = await doctor(await makeBoard(shm))
  expect(findingsOf(onTmpfs, 'filesystem')[0]).toMatchObject({ severity: 'ok', data: { name: 'tmpfs' } })
})

it('decides a board on NFS, SMB/CIFS or 9p is unsupported (filesystem-unsupported), by statfs f_type (no such mount can be made here)', () => {
  const path = join(tempDir(), 'board.db')
  for (const [name, magic] of REMOTE_MAGIC) {
    const finding = filesystemFinding(path, () => ({ type: magic }))
    expect(finding, name).toMatchObject({ id: 'filesystem-unsupported', severity: 'error', data: { magic, unsupported: true } })
    expect(finding.title).toContain(name)
    expect(finding.detail).toContain(`0x${magic.toString(16)}`)
    expect(finding.action).toMatch(/local disk.*PostgreSQL/)
  }
  // The control: the same decision over the real statfs of this folder.
  expect(filesystemFinding(path)).toMatchObject({ id: 'filesystem', severity: 'ok' })
  // statfs(2) gives f_type as a signed long on some architectures: CIFS's magic then arrives negative.
  expect(filesystemFinding(path, () => ({ type: 0xff534d42 - 2 ** 32 }))).toMatchObject({ id: 'filesystem-unsupported' })
})
