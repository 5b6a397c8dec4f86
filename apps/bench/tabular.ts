// `npm run bench:tabular`: peak memory of registering a large CSV. An embedded
// S3 server runs in one child; this process generates a CSV of --mb MiB
// (--features numeric columns and a label of 10) and uploads it; a second child
// registers it and reports its resident set before and at peak (maxRSS), the
// rows per second and the shards written. --whole registers it the way it was
// done before issue 17 (the whole object read, then parsed in memory), for
// comparison. --heap-mib N caps the registering child's V8 heap (--max-old-space-size):
// a streamed registration that holds nothing of the file beyond a shard completes
// under a cap far below the file's size. Options: --mb N (200), --features N (10),
// --whole, --heap-mib N (none). --read-only only reads the GET's body and drops it
// (what the HTTP read alone costs).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfigWith } from '../shared/config.ts';
import { Storage } from '../shared/storage/s3-storage.ts';
import { forkChild, runS3Child } from './children.ts';

const SELF = fileURLToPath(import.meta.url);
const MiB = 2 ** 20;
const storageOf = (endpoint: string, bucket: string) => new Storage({ ...loadConfigWith({ S3_BUCKET: bucket }).s3, endpoint });

type Mode = 'stream' | 'whole' | 'read-only';

async function runRegisterChild(endpoint: string, bucket: string, key: string, mode: Mode): Promise<void> {
  const storage = storageOf(endpoint, bucket);
  const limits = { maxBytes: Infinity, maxRows: Infinity, maxFeatures: Infinity, maxClasses: 1000 };
  const source = { type: 's3' as const, uri: `s3://${bucket}/${key}`, format: 'csv' as const, labelColumn: 'label' };
  const before = process.memoryUsage().rss;
  // Where the resident set goes: the V8 heap, or buffers outside it (sampled; the peak of each).
  const most = { heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    for (const k of Object.keys(most) as Array<keyof typeof most>) most[k] = Math.max(most[k], m[k]);
  }, 20);
  const t = performance.now();
  let rows: number;
  let shards = 0;
  if (mode === 'read-only') {
    // Diagnosis: the GET's body only, read and dropped.
    let bytes = 0;
    for await (const chunk of (await storage.getStream(key)) as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
    rows = bytes;
  } else if (mode === 'whole') {
    const { parseTabular } = await import('../shared/data/tabular.ts');
    rows = parseTabular(await storage.getBytes(key), source).labels.length;
  } else {
    const { registerTabular } = await import('../shared/data/tabular-register.ts');
    const reg = await registerTabular(randomUUID(), source, storage, limits);
    rows = reg.numExamples;
    shards = reg.source.numShards;
  }
  const seconds = (performance.now() - t) / 1000;
  clearInterval(sample);
  const mib = (n: number) => Math.round(n / MiB);
  // maxRSS is in KiB.
  process.send!({
    rssBeforeMiB: mib(before),
    // VmHWM, not getrusage's maxRSS: Linux carries the forking parent's resident size (the generated
    // file is in it) into the child's maxRSS at exec; VmHWM is this process's own address space.
    peakRssMiB: Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024),
    peakHeapUsedMiB: mib(most.heapUsed),
    peakExternalMiB: mib(most.external),
    peakArrayBuffersMiB: mib(most.arrayBuffers),
    rows,
    shards,
    seconds: +seconds.toFixed(1),
    rowsPerSecond: Math.round(rows / seconds),
  });
  storage.destroy();
}

const start = (args: string[], heapMiB?: number) => forkChild(SELF, args, { execArgv: heapMiB ? [`--max-old-space-size=${heapMiB}`] : [] });

/** A CSV of about `mb` MiB: `features` numbers with 4 decimals and a label of 10. */
function csv(mb: number, features: number): Buffer {
  const header = [...Array.from({ length: features }, (_, j) => `f${j}`), 'label'].join(',') + '\n';
  const parts: string[] = [header];
  let size = header.length;
  for (let i = 0; size < mb * MiB; i++) {
    const line = Array.from({ length: features }, (_, j) => (((i * 31 + j * 17) % 10_000) / 1000).toFixed(4)).join(',') + `,c${i % 10}\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join(''));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mb: { type: 'string', default: '200' }, features: { type: 'string', default: '10' }, whole: { type: 'boolean', default: false }, 'read-only': { type: 'boolean', default: false }, 'heap-mib': { type: 'string' } } });
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-tabular-'));
  const s3 = await start(['s3', dir]);
  const endpoint = s3.info.endpoint as string;
  const bucket = `bench-${randomUUID().slice(0, 8)}`;
  try {
    const storage = storageOf(endpoint, bucket);
    await storage.ensureBucket();
    const body = csv(Number(values.mb), Number(values.features));
    await storage.put('table.csv', body, 'text/csv');
    storage.destroy();
    const heapMiB = values['heap-mib'] ? Number(values['heap-mib']) : undefined;
    const mode: Mode = values['read-only'] ? 'read-only' : values.whole ? 'whole' : 'stream';
    const reg = await start(['register', endpoint, bucket, 'table.csv', mode], heapMiB);
    console.log(JSON.stringify({ mode: { stream: 'streamed', whole: 'whole file (before)', 'read-only': 'read only' }[mode], fileMiB: +(body.byteLength / MiB).toFixed(1), features: Number(values.features), heapMiB: heapMiB ?? null, ...reg.info }));
    reg.child.disconnect();
  } finally {
    s3.child.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}

const [role, ...rest] = process.argv.slice(2);
if (role === 's3') await runS3Child(rest[0]);
else if (role === 'register') await runRegisterChild(rest[0], rest[1], rest[2], rest[3] as Mode);
else await main();
