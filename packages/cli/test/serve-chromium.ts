import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

/** Debian's chromium: the browser tests never let a tool download its own. */
export const CHROMIUM = '/usr/bin/chromium'

/** Why the browser tests skip, or undefined when Chromium is installed. */
export const noBrowser: string | undefined = existsSync(CHROMIUM)
  ? undefined
  : `no ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium; ./dev test does it as root)`

/** A headless Chromium with a fresh profile. */
export interface LaunchedChromium {
  readonly context: BrowserContext
  close(): Promise<void>
}

/**
 * Starts Chromium headless with a fresh profile and the flags a closed network needs (without the
 * background-networking ones its own connections are refused, many at a time).
 */
export async function launchChromium(viewport = { width: 1400, height: 900 }): Promise<LaunchedChromium> {
  const profile = mkdtempSync(join(tmpdir(), 'kanban-db-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport,
  })
  return {
    context,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}
