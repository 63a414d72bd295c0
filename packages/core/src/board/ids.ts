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
 * The random part of the last id made in each of the last {@link RECENT_MS} milliseconds used, oldest
 * first (see {@link newId}). Per millisecond, not one last id: boards on different clocks (a SQLite
 * board on this host's, a Postgres board on its server's, a `clock` option) take turns in one thread.
 */
const lastRandomByMs = new Map<number, string>()
const RECENT_MS = 64

/**
 * A new id: `prefix` + 10 characters of time (ms, Crockford base32) + 16 random characters, so ids
 * sort by creation time like ULIDs and never collide in practice (80 random bits). Within one
 * thread, an id made in a millisecond this thread has made an id in recently continues from the
 * last of them (its random part plus one, as ULID's monotonic mode does): tasks created in one
 * millisecond, a `createTasks` batch among them, sort in the order they were made, so `listTasks`
 * (oldest first: `created_at`, then id) lists them that way. Ids of other processes or threads in
 * the same millisecond sort among them at random.
 */
export function newId(prefix: string, now: number): string {
  const ms = Math.max(0, Math.floor(now))
  const last = lastRandomByMs.get(ms)
  const random = (last === undefined ? undefined : followingRandom(last)) ?? freshRandom()
  lastRandomByMs.delete(ms)
  lastRandomByMs.set(ms, random)
  if (lastRandomByMs.size > RECENT_MS) lastRandomByMs.delete(lastRandomByMs.keys().next().value!)
  let time = ''
  let rest = ms
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[rest % 32]! + time
    rest = Math.floor(rest / 32)
  }
  return `${prefix}${time}${random}`
}

/** 16 random Crockford base32 characters: 80 bits from the pool. */
function freshRandom(): string {
  const bytes = pooledRandomBytes(10)
  let random = ''
  for (let i = 0; i < 16; i++) {
    // 10 bytes = 80 bits = 16 groups of 5 bits.
    const bit = i * 5
    const byte = bit >> 3
    const word = ((bytes[byte]! << 8) | (bytes[byte + 1] ?? 0)) >> (11 - (bit & 7))
    random += CROCKFORD[word & 31]
  }
  return random
}

/** `random` plus one in base32, or undefined when it is the largest (all 'Z'). */
function followingRandom(random: string): string | undefined {
  for (let i = random.length - 1; i >= 0; i--) {
    const digit = CROCKFORD.indexOf(random[i]!)
    if (digit < 31) return random.slice(0, i) + CROCKFORD[digit + 1]! + '0'.repeat(random.length - 1 - i)
  }
  return undefined
}

/** A new claim token: 128 random bits from the OS's CSPRNG, base64url. */
export function newClaimToken(): string {
  return pooledRandomBytes(16).toString('base64url')
}
