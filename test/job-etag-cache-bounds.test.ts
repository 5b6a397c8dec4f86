// The job ETag cache's memory bounds (no database: the cache alone).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobEtagCache } from '../apps/api/src/services/job-etag-cache.ts';

describe('job ETag cache bounds', () => {
  it('keeps at most maxEntries entries and maxBodyChars of bodies, dropping the oldest', () => {
    const c = new JobEtagCache(60_000, 10, 1000);
    c.setOnline(true);
    for (let i = 0; i < 25; i++) c.fill(c.begin(), 't', `job-${i}`, `v${i}`);
    assert.ok(c.size <= 10, `${c.size} entries`);
    assert.equal(c.lookup('t', 'job-24'), 'v24');
    assert.equal(c.lookup('t', 'job-0'), undefined);
    // Bodies: 200 of 900 characters against 100,000 (one body may be at most 1% of it).
    const b = new JobEtagCache(60_000, 1000, 100_000);
    b.setOnline(true);
    for (let i = 0; i < 200; i++) b.fill(b.begin(), 't', `big-${i}`, `b${i}`, 'x'.repeat(900));
    assert.equal(b.lookupBody('t', 'big-199')?.body.length, 900);
    assert.equal(b.lookupBody('t', 'big-0'), undefined, 'the oldest body went');
    assert.ok(b.size * 900 <= 100_000, `${b.size} bodies of 900 kept`);
    assert.ok(b.size >= 100, `${b.size} bodies of 900 kept`);
    // Too large to keep: the version is kept, the body is not.
    b.fill(b.begin(), 't', 'huge', 'h', 'x'.repeat(2000));
    assert.equal(b.lookup('t', 'huge'), 'h');
    assert.equal(b.lookupBody('t', 'huge'), undefined);
  });

  it('is not used while the listener is not connected, and starts over when it is back', () => {
    const c = new JobEtagCache(60_000, 10);
    c.setOnline(true);
    c.fill(c.begin(), 't', 'j', 'v1', '{}');
    c.setOnline(false);
    assert.equal(c.lookup('t', 'j'), undefined);
    assert.equal(c.begin(), undefined);
    c.setOnline(true);
    assert.equal(c.lookup('t', 'j'), undefined);
  });

  it('an entry expires ttlMs after the read that filled it began', async () => {
    const c = new JobEtagCache(50, 10);
    c.setOnline(true);
    c.fill(c.begin(), 't', 'j', 'v1');
    assert.equal(c.lookup('t', 'j'), 'v1');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(c.lookup('t', 'j'), undefined);
  });
});
