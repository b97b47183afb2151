import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pooledStrings, StringPool } from '../../../src/lib/string-pool.js';

// Strings built apart, as a parser builds them: equal in value, distinct in memory.
const built = (s: string): string => [...s].join('');

describe('StringPool', () => {
  test('keeps every value of an answer as it was: nested arrays, Maps, nulls, numbers, long strings', () => {
    const long = 'x'.repeat(1_000);
    const source = () => ({
      rules: [
        {
          RuleArn: built('arn:aws:elasticloadbalancing:rule/1'),
          Priority: '7',
          IsDefault: false,
          Actions: [{ Type: built('forward'), TargetGroupArn: built('arn:tg'), Order: 1 }],
          Conditions: [{ Field: 'host-header', Values: [built('a.example.com')] }],
          Extra: null,
          Long: long,
          When: new Date(0),
        },
      ],
      byArn: new Map([['arn:tg', { cluster: built('c-1') }]]),
    });
    const answer = source();
    assert.equal(pooledStrings(answer), answer);
    assert.deepEqual(answer, source());
  });

  test('one entry per distinct value, however many times it repeats', () => {
    const pool = new StringPool();
    const arn = 'arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc';
    const rules = Array.from({ length: 100 }, (_, i) => ({ UserPoolArn: built(arn), Priority: String(i % 10) }));
    pool.strings(rules);
    assert.equal(pool.size, 11);
    assert.ok(rules.every((r) => r.UserPoolArn === arn));
  });

  test('a bounded pool empties itself when full and still answers the value it was given', () => {
    const pool = new StringPool(2);
    assert.equal(pool.string('a'), 'a');
    assert.equal(pool.string('b'), 'b');
    assert.equal(pool.string('c'), 'c');
    assert.equal(pool.size, 1);
    assert.equal(pool.string('a'), 'a');
  });

  test('leaves class instances as they are', () => {
    class Holder {
      value = built('not walked');
    }
    const h = new Holder();
    const before = h.value;
    pooledStrings({ h });
    assert.equal(h.value, before);
  });
});
