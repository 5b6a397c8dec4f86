// Storage.list pages through more than one page of keys on the S3 server the
// service embeds (npm start) and the tests use: registration lists image
// prefixes of tens of thousands of objects, and cleanup deletes by listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfigWith } from '../apps/shared/config.ts';
import { startEmbeddedS3 } from '../apps/shared/storage/embedded-s3.ts';
import { Storage } from '../apps/shared/storage/s3-storage.ts';

test('list returns every key under a prefix past the 1,000-key page, and deletePrefix removes them all', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ftest-s3-list-'));
  const s3 = await startEmbeddedS3({ dir, port: 0 });
  try {
    const storage = new Storage({ ...loadConfigWith({ S3_BUCKET: 'list-test' }).s3, endpoint: s3.endpoint });
    await storage.ensureBucket();
    const keys = Array.from({ length: 2345 }, (_, i) => `photos/c${i % 7}/img-${String(i).padStart(5, '0')}.jpg`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => storage.put(k, 'x')));
    await storage.put('photosets/outside.jpg', 'x');

    const listed = await storage.list('photos/');
    assert.deepEqual(listed.map((o) => o.key), [...keys].sort());
    assert.ok(listed.every((o) => o.size === 1));

    assert.equal(await storage.deletePrefix('photos/'), keys.length);
    assert.deepEqual(await storage.list('photos/'), []);
    assert.deepEqual((await storage.list('photosets/')).map((o) => o.key), ['photosets/outside.jpg']);
  } finally {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  }
});
