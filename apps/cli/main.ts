// `finetune <group> <command> [args] [flags]`: the CLI over the typed client.
// Run by bin/finetune.mjs (npx finetune, npm run cli --, node bin/finetune.mjs).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ApiError, FinetuneClient } from '../client/index.ts';
import type { Command, Ctx, Values } from './command.ts';
import { adviceCommands } from './commands/advice.ts';
import { sweepCommands } from './commands/sweeps.ts';
import { datasetCommands } from './commands/datasets.ts';
import { jobCommands } from './commands/jobs.ts';
import { modelCommands } from './commands/models.ts';
import { uploadCommands } from './commands/uploads.ts';
import { cliConfig } from './config.ts';
import { EXIT, UsageError } from './exit-codes.ts';

const GROUPS: Record<string, Record<string, Command>> = { uploads: uploadCommands, datasets: datasetCommands, models: modelCommands, jobs: jobCommands, advice: adviceCommands, sweeps: sweepCommands };

const GLOBAL_OPTIONS = {
  'api-url': { type: 'string' },
  'api-key': { type: 'string' },
  'key-file': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} satisfies NonNullable<ParseArgsConfig['options']>;

const GLOBAL_HELP = `Global flags:
  --api-url <url>    the API (env FINETUNE_API_URL; default http://127.0.0.1:3000)
  --api-key <key>    a tenant API key (env FINETUNE_API_KEY; default: the key in .data/api-key)
  --key-file <file>  read the key from this file instead of .data/api-key
  --json             machine-readable output on stdout (errors too)
  -q, --quiet        no progress on stderr
  -h, --help         help

Exit status: 0 ok / job succeeded, 1 job failed, 2 usage error, 3 API error, 4 job cancelled, 70 a bug in the CLI,
130 stopped following (Ctrl-C; the job goes on).`;

function help(group?: string, name?: string): string {
  if (group && name && GROUPS[group]?.[name]) {
    const c = GROUPS[group][name];
    return `finetune ${group} ${name} ${c.usage}\n\n${c.summary}${c.help ? `\n${c.help}` : ''}\n\n${GLOBAL_HELP}\n`;
  }
  const groups = group && GROUPS[group] ? [group] : Object.keys(GROUPS);
  const lines = groups.flatMap((g) => Object.entries(GROUPS[g]).map(([n, c]) => `  finetune ${g} ${n} ${c.usage}\n      ${c.summary}`));
  return `Usage: finetune <command> [args] [flags]\n\nCommands:\n${lines.join('\n')}\n\n${GLOBAL_HELP}\n`;
}

/** All options of all commands, to find the command words before the command is known. */
function allOptions(): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = { ...GLOBAL_OPTIONS };
  for (const cmds of Object.values(GROUPS)) for (const c of Object.values(cmds)) Object.assign(out, c.options);
  return out;
}

export async function main(argv: string[], io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let json = argv.includes('--json');
  let keySource = '';
  try {
    const loose = parseArgs({ args: argv, options: allOptions(), strict: false, allowPositionals: true, tokens: true });
    const words = loose.tokens.filter((t) => t.kind === 'positional').slice(0, 2);
    const [group, name] = words.map((t) => (t as { value: string }).value);
    if (group && !Object.hasOwn(GROUPS, group)) throw new UsageError(`Unknown command: ${group}`);
    if (!group || !Object.hasOwn(GROUPS[group], name ?? '')) {
      if (name && !loose.values.help) throw new UsageError(`Unknown command: ${group} ${name}`);
      // A bare `finetune` or `finetune jobs` shows the commands; only --help makes that a success.
      io.stdout.write(help(group, name));
      return loose.values.help ? EXIT.ok : EXIT.usage;
    }
    const command = GROUPS[group][name];
    const rest = argv.filter((_, i) => !words.some((w) => w.index === i));
    const { values, positionals } = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command.options }, strict: true, allowPositionals: true });
    if (values.help) {
      io.stdout.write(help(group, name));
      return EXIT.ok;
    }
    json = Boolean(values.json);
    const [min, max] = command.args;
    if (positionals.length < min || positionals.length > max) throw new UsageError(`Usage: finetune ${group} ${name} ${command.usage}`);
    const config = cliConfig(values);
    keySource = config.keySource;
    const ctx: Ctx = {
      client: new FinetuneClient({ baseUrl: config.baseUrl, apiKey: config.apiKey }),
      json,
      quiet: Boolean(values.quiet),
      stdout: io.stdout,
      stderr: io.stderr,
      print: (value, human) => io.stdout.write(`${json ? JSON.stringify(value, null, 2) : human()}\n`),
    };
    return await command.run(ctx, values as Values, positionals);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      report(io, json, { code: 'usage', message: (err as Error).message }, `${(err as Error).message}\nRun finetune --help for the commands.`);
      return EXIT.usage;
    }
    if (err instanceof ApiError) {
      const hint = err.status === 401 ? `\n(the API key came from ${keySource}; set it with --api-key, FINETUNE_API_KEY or .data/api-key)` : '';
      const details = err.details === undefined ? '' : `\n${JSON.stringify(err.details, null, 2)}`;
      report(io, json, err.toJSON(), `error: ${err.code}: ${err.message}${details}${hint}`);
      return EXIT.api;
    }
    io.stderr.write(`unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.internal;
  }
}

function report(io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }, json: boolean, error: object, text: string) {
  if (json) io.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
  else io.stderr.write(`${text}\n`);
}
