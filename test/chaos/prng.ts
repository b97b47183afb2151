// Seeded decisions. Each decision draws from its own stream, named by what it decides (the n-th call of one AWS
// operation, the k-th kill point), so a run repeats even though concurrent calls reach the proxy in a different
// order each time: the 7th CreateRule of seed 42 always meets the same fate.
import { createHash } from 'node:crypto';

/** mulberry32: a small, fast 32-bit generator; good enough to spread faults, and exactly repeatable. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator for one named stream of one seed. */
export function stream(seed: number, name: string): () => number {
  const digest = createHash('sha256').update(`${seed}\u0000${name}`).digest();
  return mulberry32(digest.readUInt32LE(0));
}

/** One draw in [0, 1) for the decision `name` of `seed`. */
export function draw(seed: number, name: string): number {
  return stream(seed, name)();
}
