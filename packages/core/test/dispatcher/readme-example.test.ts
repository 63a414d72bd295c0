import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { tempDir } from '../temp-dir.js'

// The Dispatcher section of core's README holds the README's only ```js block.
const README = fileURLToPath(new URL('../../README.md', import.meta.url))
const PACKAGE = fileURLToPath(new URL('../../', import.meta.url))

describe('the Dispatcher README', () => {
  it('its example runs as written against the built packages', async () => {
    const example = /```js\n([\s\S]*?)```/.exec(readFileSync(README, 'utf8'))?.[1]
    expect(example).toBeDefined()
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', example!], {
      cwd: PACKAGE,
      // The example makes its board under os.tmpdir(): point that at a directory this test removes.
      env: { ...process.env, TMPDIR: tempDir() },
    })
    expect(stdout.match(/^recorded .* complete$/gm)).toHaveLength(3)
    expect(stdout).toContain("state: 'closed'")
  })
})
