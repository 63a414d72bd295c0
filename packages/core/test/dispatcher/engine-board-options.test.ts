import { expect, it, describe } from 'vitest'
import { pglite } from '@kanban-db/adapter-postgres'
import { Dispatcher, type WorkerExit } from '@kanban-db/core'
import { bundledAdapters } from '../adapters.js'
import { ofType, recordEvents } from './helpers.js'

const spawn = () => ({ pid: undefined, exit: Promise.resolve<WorkerExit>({ code: 0, signal: null }) })

describe('Dispatcher options: boards on engines', () => {
  it('refuses a SQLite path without an adapter, two boards of one name, and an entry that is neither; supervises a PGlite board with no adapter at all', async () => {
    expect(() => new Dispatcher({ boards: ['/tmp/board.db'], spawn })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { field: 'options.adapter' } }))
    const engine = pglite()
    expect(() => new Dispatcher({ boards: [{ name: 'a', engine }, { name: 'a', engine }], spawn })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining('"a"') }))
    expect(() => new Dispatcher({ boards: [{ name: '', engine }], spawn })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { field: 'options.boards' } }))
    expect(() => new Dispatcher({ boards: [{ name: 'x' } as never], spawn })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { field: 'options.boards' } }))
    const adapter = await bundledAdapters[0]!.create()
    expect(() => new Dispatcher({ boards: [{ name: '/some/board.db', engine }, '/some/board.db'], adapter, spawn })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))

    // PGlite: an engine board in this process; its tick lock is the engine's (in-process) lock.
    const dispatcher = new Dispatcher({ boards: [{ name: 'memory', engine: pglite() }], spawn, concurrency: 2 })
    const events = recordEvents(dispatcher)
    await dispatcher.tick()
    expect(dispatcher.status().boards).toMatchObject([{ path: 'memory', engine: 'postgres', state: 'open', spawned: 0 }])
    await dispatcher.stop()
    expect(ofType(events, 'error')).toEqual([])
  })
})
