// The physical floor of a phase against real AWS: how long its calls would take if every API family were used at
// exactly the rate AWS publishes (src/aws/rate-limits.ts), with each bucket full at the start. For each bucket the
// calls beyond its burst are divided by its refill rate; the phase can go no faster than its slowest bucket.
import { familyOf } from '../src/aws/rate-limits.js';

export interface RateFloor {
  /** Seconds the slowest bucket needs. */
  readonly seconds: number;
  /** That bucket (`service:family`, or `service:operation` where each operation has its own). */
  readonly bucket: string;
}

export function rateFloor(byOperation: Readonly<Record<string, number>>): RateFloor {
  const calls = new Map<string, { n: number; burst: number; perSecond: number }>();
  for (const [op, n] of Object.entries(byOperation)) {
    const [service = '', operation = ''] = op.split(':');
    const family = familyOf(service, operation);
    if (!family) continue;
    const key = family.perOperation ? op : `${service}:${family.family}`;
    const entry = calls.get(key) ?? { n: 0, burst: family.burst, perSecond: family.perSecond };
    entry.n += n;
    calls.set(key, entry);
  }
  let floor: RateFloor = { seconds: 0, bucket: '–' };
  for (const [bucket, { n, burst, perSecond }] of calls) {
    const seconds = Math.max(0, n - burst) / perSecond;
    if (seconds > floor.seconds) floor = { seconds, bucket };
  }
  return floor;
}
