import { randomBytes } from 'node:crypto'

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/**
 * A new id: `prefix` + 10 characters of time (ms, Crockford base32) + 16 random characters, so ids
 * sort by creation time like ULIDs and never collide in practice (80 random bits).
 */
export function newId(prefix: string, now: number): string {
  let time = ''
  let rest = Math.max(0, Math.floor(now))
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[rest % 32]! + time
    rest = Math.floor(rest / 32)
  }
  const bytes = randomBytes(10)
  let random = ''
  for (let i = 0; i < 16; i++) {
    // 10 bytes = 80 bits = 16 groups of 5 bits.
    const bit = i * 5
    const byte = bit >> 3
    const word = ((bytes[byte]! << 8) | (bytes[byte + 1] ?? 0)) >> (11 - (bit & 7))
    random += CROCKFORD[word & 31]
  }
  return `${prefix}${time}${random}`
}

/** A new claim token: 128 random bits from the OS's CSPRNG, base64url. */
export function newClaimToken(): string {
  return randomBytes(16).toString('base64url')
}
