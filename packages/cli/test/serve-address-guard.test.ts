import { describe, expect, it } from 'vitest'
import { AddressGuard, tokenMatches } from '../src/serve/request-guard.js'

describe('the live board answers only to its own address', () => {
  it('on 127.0.0.1: its address and localhost at its port, never a name another site could point at it', () => {
    const guard = new AddressGuard('127.0.0.1', 8080)
    expect(['127.0.0.1:8080', 'localhost:8080', 'LOCALHOST:8080'].map((h) => guard.allowsHost(h))).toEqual([true, true, true])
    expect(['attacker.example:8080', '127.0.0.1:8081', '127.0.0.1', '127.0.0.2:8080', '[::1]:8080', '127.0.0.1:8080@x', '', undefined].map((h) => guard.allowsHost(h))).toEqual(
      [false, false, false, false, false, false, false, false],
    )
    expect(guard.allowsOrigin(undefined)).toBe(true)
    expect(guard.allowsOrigin('http://127.0.0.1:8080')).toBe(true)
    expect(['null', 'https://127.0.0.1:8080', 'http://attacker.example:8080', 'http://127.0.0.1:8080.attacker.example'].map((o) => guard.allowsOrigin(o))).toEqual([false, false, false, false])
  })

  it('on ::1 and on every interface: address literals only', () => {
    expect(new AddressGuard('::1', 80).allowsHost('[::1]')).toBe(true)
    expect(new AddressGuard('::1', 80).allowsHost('localhost')).toBe(true)
    const everywhere = new AddressGuard('0.0.0.0', 9000)
    expect(['192.168.1.20:9000', '[fe80::1]:9000', 'localhost:9000'].map((h) => everywhere.allowsHost(h))).toEqual([true, true, false])
    expect(everywhere.allowsHost('my-host.lan:9000')).toBe(false)
  })

  it('takes only the exact token', () => {
    const token = 'x'.repeat(43)
    expect(tokenMatches(token, token)).toBe(true)
    expect([undefined, '', 'x'.repeat(42), 'x'.repeat(44), `${'x'.repeat(42)}y`].map((given) => tokenMatches(given, token))).toEqual([false, false, false, false, false])
  })
})
