import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { serveBoard } from '../src/serve/index.js'
import { launchChromium, noBrowser, type LaunchedChromium } from './serve-chromium.js'
import { freshBoard, postgresUrl } from './serve-support.js'

/**
 * The live board as a person uses it, in a real headless Chromium (Debian's package; never a
 * browser a tool downloads): a task another process creates appears in its column without a
 * reload, and an action needs the token.
 */
const run = promisify(execFile)
const createTaskScript = fileURLToPath(new URL('./serve-create-task.mjs', import.meta.url))

describe.skipIf(noBrowser !== undefined)(`kanban-db serve in Chromium${noBrowser ? ` (skipped: ${noBrowser})` : ''}`, () => {
  let browser: LaunchedChromium | undefined

  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(() => browser?.close())

  async function openPage(url: string): Promise<Page> {
    const page = await browser!.context.newPage()
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })
    // No script error and no refused resource (a Content-Security-Policy violation is a console error).
    onTestFinished(async () => {
      await page.close()
      expect(problems.filter((text) => !text.includes('403'))).toEqual([])
    })
    await page.goto(url)
    await expect.poll(() => page.locator('#live').textContent(), { timeout: 30_000 }).toBe('live')
    return page
  }

  for (const engine of ['sqlite', 'postgres'] as const) {
    const skip = engine === 'postgres' && !postgresUrl
    it.skipIf(skip)(`shows a task another process creates in its column without a reload (${engine}${skip ? ': skipped, no KANBAN_DB_POSTGRES_URL' : ''})`, async () => {
      const { target, writer } = await freshBoard(engine)
      await writer.board.createTask({ title: 'already there' })
      const server = await serveBoard(target)
      onTestFinished(() => server.close())
      const page = await openPage(server.url)
      await expect.poll(() => page.locator('[data-status="ready"] .count').textContent()).toBe('1')
      // A mark a reload would wipe.
      await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true))

      const title = `made by another process ${engine}`
      const { stdout } = await run(process.execPath, [createTaskScript, JSON.stringify(target), title])
      const child = JSON.parse(stdout) as { id: string; pid: number }
      expect(child.pid).not.toBe(process.pid)

      const card = page.locator(`[data-status="ready"] .card[data-task="${child.id}"]`)
      await card.waitFor({ timeout: 30_000 })
      expect(await card.locator('a').textContent()).toBe(title)
      expect(await page.locator('[data-status="ready"] .count').textContent()).toBe('2')
      expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true)
    })
  }

  it('refuses an action without the token (the task stays blocked) and takes it once the token is entered', async () => {
    const { target, writer } = await freshBoard('sqlite')
    const task = await writer.board.createTask({ title: 'waiting for a person' })
    await writer.board.block(task.id, 'needs approval')
    const server = await serveBoard(target, { allowActions: true })
    onTestFinished(() => server.close())
    const page = await openPage(server.url)

    await page.locator(`[data-status="blocked"] .card[data-task="${task.id}"] a`).click()
    await page.locator('#detail button', { hasText: 'Unblock' }).click()
    await expect.poll(() => page.locator('#action-result').textContent(), { timeout: 30_000 }).toMatch(/refused \(403\): Token required/)
    expect((await writer.board.getTask(task.id))!.status).toBe('blocked')
    expect(await page.locator(`[data-status="blocked"] .card[data-task="${task.id}"]`).count()).toBe(1)

    await page.locator('#token').fill('not the token')
    await page.locator('#detail button', { hasText: 'Unblock' }).click()
    await expect.poll(() => page.locator('#action-result').textContent(), { timeout: 30_000 }).toMatch(/refused \(403\): Wrong token/)
    expect((await writer.board.getTask(task.id))!.status).toBe('blocked')

    // The control: the same click with the token printed at start.
    await page.locator('#token').fill(server.token!)
    await page.locator('#detail button', { hasText: 'Unblock' }).click()
    await page.locator(`[data-status="ready"] .card[data-task="${task.id}"]`).waitFor({ timeout: 30_000 })
    expect((await writer.board.getTask(task.id))!.status).toBe('ready')
    expect(await page.locator('#action-result').textContent()).toMatch(/done: the task is ready/)
    await page.locator('#detail .close').click()
    expect(await page.locator('#detail').isHidden()).toBe(true)
  })

  it('takes the token from the start URL’s #token= fragment, keeps it out of the address bar, and acts from a task’s own page', async () => {
    const { target, writer } = await freshBoard('sqlite')
    const task = await writer.board.createTask({ title: 'done with this one' })
    const server = await serveBoard(target, { allowActions: true })
    onTestFinished(() => server.close())
    const page = await browser!.context.newPage()
    onTestFinished(() => page.close())
    await page.goto(`${server.url}#token=${server.token}`)
    await expect.poll(() => page.locator('#live').textContent(), { timeout: 30_000 }).toBe('live')
    expect(page.url()).toBe(server.url)
    expect(await page.locator('#token').inputValue()).toBe(server.token)

    await page.goto(`${server.url}tasks/${task.id}`)
    await page.locator('button', { hasText: 'Archive' }).click()
    await page.locator('table td', { hasText: 'archived' }).first().waitFor({ timeout: 30_000 })
    expect((await writer.board.getTask(task.id))!.status).toBe('archived')
  })
})
