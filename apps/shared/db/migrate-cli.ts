// `npm run migrate`: create the database if needed, then apply pending migrations.
import { loadConfig } from '../config.ts';
import { applyMigrations, ensureDatabase } from './migrator.ts';

const config = loadConfig();
await ensureDatabase(config.databaseUrl);
const { applied, skipped } = await applyMigrations(config.databaseUrl);
console.log(JSON.stringify({ msg: 'migrations done', applied, alreadyApplied: skipped.length }));
