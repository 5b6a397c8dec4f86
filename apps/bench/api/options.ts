// The flags of `npm run bench:api`.
import { parseArgs } from 'node:util';

export const SCENARIOS = ['hello', 'get', 'get-304', 'post', 'list'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  /** Seconds each measured run lasts. */
  seconds: number;
  /** Measured runs of each scenario, interleaved (one of each, then again). */
  repeats: number;
  connections: number;
  /** API instances behind the load generator (round robin over their ports). */
  instances: number;
  scenarios: Scenario[];
  /** Write the runs as JSON here too. */
  json?: string;
  /** Run the API with --cpu-prof, writing its profile into this directory. */
  cpuProf?: string;
}

function usage(message: string): never {
  console.error(`${message}\nusage: npm run bench:api -- [--seconds 5] [--repeats 3] [--connections 50] [--instances 1] [--only get,post] [--json out.json] [--cpu-prof dir]`);
  process.exit(2);
}

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) usage(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

export function readOptions(args = process.argv.slice(2)): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '5' },
      repeats: { type: 'string', default: '3' },
      connections: { type: 'string', default: '50' },
      instances: { type: 'string', default: '1' },
      only: { type: 'string' },
      json: { type: 'string' },
      'cpu-prof': { type: 'string' },
    },
  });
  const scenarios = values.only ? values.only.split(',').map((s) => s.trim()) : [...SCENARIOS];
  for (const s of scenarios) if (!SCENARIOS.includes(s as Scenario)) usage(`unknown scenario "${s}"; one of ${SCENARIOS.join(', ')}`);
  return {
    seconds: positiveInt('seconds', values.seconds),
    repeats: positiveInt('repeats', values.repeats),
    connections: positiveInt('connections', values.connections),
    instances: positiveInt('instances', values.instances),
    scenarios: scenarios as Scenario[],
    json: values.json,
    cpuProf: values['cpu-prof'],
  };
}
