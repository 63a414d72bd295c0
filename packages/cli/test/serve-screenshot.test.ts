import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { openBoardTarget, type BoardTarget } from '../src/board-target.js'
import { serveBoard } from '../src/serve/index.js'
import { launchChromium, noBrowser } from './serve-chromium.js'
import { tempDir } from './serve-support.js'

/**
 * Takes the README's screenshot of the live board (docs/serve.png) from a real page in Chromium:
 * `KANBAN_DB_SERVE_SCREENSHOT=docs/serve.png npx vitest run test/serve-screenshot.test.ts`.
 * Without that variable it skips (the picture is committed; regenerate it when the page changes).
 */
const output = process.env['KANBAN_DB_SERVE_SCREENSHOT']
const skip = noBrowser ?? (output ? undefined : 'set KANBAN_DB_SERVE_SCREENSHOT=docs/serve.png to take the README screenshot')

describe.skipIf(skip !== undefined)(`README screenshot${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('shows a board with tasks in several columns, the throughput chart and the health panel', async () => {
    const target: BoardTarget = { engine: 'sqlite', path: join(tempDir(), 'fleet.db') }
    await fillBoard(target)
    const server = await serveBoard(target, { allowActions: true })
    onTestFinished(() => server.close())
    const chromium = await launchChromium({ width: 1600, height: 940 })
    onTestFinished(() => chromium.close())
    const page = await chromium.context.newPage()
    await page.goto(server.url)
    await page.locator('#live', { hasText: 'live' }).waitFor({ timeout: 30_000 })
    await page.locator('#health [data-finding]').first().waitFor({ timeout: 60_000 })
    const path = resolve(output!)
    mkdirSync(dirname(path), { recursive: true })
    await page.screenshot({ path })
    expect(await page.locator('.card').count()).toBeGreaterThan(10)
  })
})

/** A fleet's board: work done over the last quarter hour (clock set back per task), some running, some stuck. */
async function fillBoard(target: BoardTarget): Promise<void> {
  const now = Date.now()
  let at = now
  const { board } = await openBoardTarget(target, { clock: () => at })
  const work = [
    'Summarize yesterday’s support tickets', 'Translate the onboarding guide to German', 'Regenerate API client from openapi.yaml',
    'Triage flaky test: checkout e2e', 'Draft release notes for 2.4', 'Backfill embeddings for new docs', 'Resize product images (batch 7)',
    'Review PR #1841: retry budget', 'Scan dependencies for CVEs', 'Write migration for invoices.currency', 'Label 200 search queries',
    'Refresh pricing page screenshots', 'Classify inbound emails (morning)', 'Check broken links in docs', 'Export Q3 metrics to sheets',
  ]
  let n = 0
  // Completions and failures spread over the last 14 minutes, for the throughput chart.
  for (let minute = 14; minute >= 1; minute--) {
    const perMinute = 2 + ((minute * 7) % 5)
    for (let i = 0; i < perMinute; i++) {
      at = now - minute * 60_000 + i * 1_000
      const task = await board.createTask({ title: work[n++ % work.length]!, maxAttempts: 1 })
      const claimed = await board.claim(task.id, { workerId: `worker-${(i % 4) + 1}`, leaseMs: 600_000 })
      if ((minute + i) % 9 === 0) await board.fail(claimed.id, claimed.claimToken, 'model returned invalid JSON', { retry: false })
      else await board.complete(claimed.id, claimed.claimToken, { ok: true })
    }
  }
  at = now - 20_000
  for (const [i, title] of work.slice(0, 5).entries()) await board.createTask({ title, priority: i === 0 ? 5 : 0, assignee: i === 2 ? 'codegen' : null })
  for (const title of ['Reconcile Stripe payouts', 'Crawl partner sitemap', 'Summarize call transcript #448']) {
    const task = await board.createTask({ title })
    await board.claim(task.id, { workerId: 'worker-2', leaseMs: 600_000 })
  }
  const blocked = await board.createTask({ title: 'Rotate the staging database password' })
  await board.block(blocked.id, 'needs a human: credentials are in the vault')
  const waiting = await board.createTask({ title: 'Publish the changelog' })
  await board.createTask({ title: 'Announce 2.4 on the blog', dependsOn: [waiting.id] })
  await board.createTask({ title: 'Weekly cost report', dueAt: now + 3_600_000 })
  await board.createTask({ title: 'Customer asked for a data export', triage: true })
  const review = await board.createTask({ title: 'Rewrite the rate-limit docs' })
  const claimed = await board.claim(review.id, { workerId: 'worker-3', leaseMs: 600_000 })
  await board.requestReview(review.id, claimed.claimToken, { summary: 'Rewrote sections 2-4' })
  const archived = await board.createTask({ title: 'Old experiment: prompt v1' })
  await board.archive(archived.id)
  await board.close()
}
