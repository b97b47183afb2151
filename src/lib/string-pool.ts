// lib/: pure helpers that any layer may use (eslint.config.js keeps them free of the others and of I/O).
//
// One copy of each repeated string value in what a cache or a listing keeps. A parsed answer, JSON from the API
// server or XML from AWS, gives every value its own copy, and what the operator keeps repeats the same values
// thousands of times: a kind, a condition's reason, a VPC id, a user pool's ARN on every listener rule, a target
// group's ARN in two places of the same rule, a tag's value.

/** Longer strings are rarely repeated (a status message that lists names). */
const MAX_LENGTH = 256;

export class StringPool {
  private readonly pool = new Map<string, string>();

  /**
   * `max`: the pool is emptied when it holds this many, rather than tracking uses, so a value unique to one object
   * (an ARN, a uid) costs an entry only until then, and a repeated one ends up in a few copies instead of one per
   * object. A pool made for one listing and dropped with it needs no bound.
   */
  constructor(private readonly max = Infinity) {}

  /** How many distinct values it holds. */
  get size(): number {
    return this.pool.size;
  }

  /** The pool's copy of `value`. */
  string(value: string): string {
    if (value.length > MAX_LENGTH) return value;
    const pooled = this.pool.get(value);
    if (pooled !== undefined) return pooled;
    if (this.pool.size >= this.max) this.pool.clear();
    this.pool.set(value, value);
    return value;
  }

  /**
   * `value` with every string in it replaced by the pool's copy, in place: for data the caller owns. Walks arrays,
   * plain objects and Maps' values; anything else (a class instance, a Date) is left as it is.
   */
  strings<T>(value: T): T {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = this.member(value[i]);
    } else if (value instanceof Map) {
      for (const [k, v] of value) value.set(k, this.member(v));
    } else if (isPlain(value)) {
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) record[key] = this.member(record[key]);
    }
    return value;
  }

  private member(value: unknown): unknown {
    return typeof value === 'string' ? this.string(value) : this.strings(value);
  }
}

function isPlain(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A listing's strings pooled among themselves, in place: a pool for this listing only, dropped with it. */
export const pooledStrings = <T>(value: T): T => new StringPool().strings(value);
