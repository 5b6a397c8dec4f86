// `npm run client:bundle`: rebuilds apps/dashboard/client.js from apps/client.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BUNDLE_PATH, bundleForBrowser } from './bundle.ts';

const text = await bundleForBrowser();
await writeFile(BUNDLE_PATH, text);
console.log(`wrote ${path.relative(process.cwd(), BUNDLE_PATH)} (${Buffer.byteLength(text)} bytes)`);
