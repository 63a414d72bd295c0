import { randomBytes } from 'node:crypto'

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/**
 * Random bytes are drawn from the OS's CSPRNG 4 KiB at a time and handed out once each: a
 * `randomBytes` call per id costs more than the rest of the id.
 */
const POOL_SIZE = 4096
let pool = Buffer.alloc(0)
let poolOffset = POOL_SIZE

function pooledRandomBytes(size: number): Buffer {
  if (poolOffset + size > pool.length) {
    pool = randomBytes(POOL_SIZE)
    poolOffset = 0
  }
  const bytes = pool.subarray(poolOffset, poolOffset + size)
  poolOffset += size
  return bytes
}

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
  const bytes = pooledRandomBytes(10)
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
  return pooledRandomBytes(16).toString('base64url')
}
