import { add } from './add.js'
import { archive } from './archive.js'
import { backup } from './backup.js'
import { block } from './block.js'
import { check } from './check.js'
import type { Command } from './command.js'
import { doctor } from './doctor.js'
import { events } from './events.js'
import { importCommand } from './import.js'
import { ls } from './ls.js'
import { reassign } from './reassign.js'
import { reclaim } from './reclaim.js'
import { serve } from './serve.js'
import { show } from './show.js'
import { stats } from './stats.js'
import { unblock } from './unblock.js'

/** Every `kanban-db` command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [ls, show, add, block, unblock, archive, reassign, reclaim, events, stats, backup, check, importCommand, doctor, serve]
