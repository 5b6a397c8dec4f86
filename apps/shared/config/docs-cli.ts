// npm run docs:config: rewrites docs/configuration.md's tables from the declarations.
import { readFile, writeFile } from 'node:fs/promises';
import { CONFIG_TOPICS } from '../config.ts';
import { CONFIG_DOCS_PATH, renderConfigTables, spliceConfigTables } from './docs.ts';

const before = await readFile(CONFIG_DOCS_PATH, 'utf8');
const after = spliceConfigTables(before, renderConfigTables(CONFIG_TOPICS));
if (after === before) console.log(`docs:config: ${CONFIG_DOCS_PATH} is current`);
else {
  await writeFile(CONFIG_DOCS_PATH, after);
  console.log(`docs:config: rewrote the configuration tables in ${CONFIG_DOCS_PATH}`);
}
