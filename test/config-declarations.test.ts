// The config is declared once (apps/shared/config/); these check that what derives from the
// declarations holds for every setting, present and future: each variable is read, handed to a
// child and read back to the same config, refused outside its declared bounds, and documented in
// docs/configuration.md as declared.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import {
  CONFIG_TOPICS,
  ConfigError,
  configToEnv,
  DEFAULT_NATIVE_DIR,
  loadConfig,
  loadConfigWith,
  loadNativeInstallConfig,
  sandboxEnv,
  SETTINGS,
  withDatabaseUrl,
  withS3Endpoint,
  type Config,
  type NativeInstallConfig,
} from '../apps/shared/config.ts';
import { CONFIG_DOCS_PATH, renderConfigTables, spliceConfigTables } from '../apps/shared/config/docs.ts';
import { settingsOf, variablesOf, type Env, type Group, type Variable } from '../apps/shared/config/setting.ts';
import { nativeInstall } from '../apps/shared/config/worker.ts';

const VARS = variablesOf(SETTINGS);
/** Every variable at its declared example: a valid value other than the default. */
const EXAMPLES: Env = Object.fromEntries(VARS.map((v) => [v.name, v.example()]));
/** The same without DATABASE_URL, so the embedded Postgres's settings count. */
const EXAMPLES_NO_DB: Env = { ...EXAMPLES, DATABASE_URL: undefined };

/** The config field a one-variable setting fills, or undefined for a setting of several. */
function fieldOf(group: Group, name: string): string[] | undefined {
  return settingsOf(group).find(({ setting }) => setting.vars.length === 1 && setting.vars[0].name === name)?.path;
}

function valueAt(config: object, path: string[]): unknown {
  return path.reduce<unknown>((o, key) => (o as Record<string, unknown>)[key], config);
}

/** Runs `fn` with process.env changed, and puts it back. */
function withProcessEnv<T>(vars: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('config declarations', () => {
  it('declares each variable once and documents every one in a topic', () => {
    const names = settingsOf(SETTINGS).flatMap(({ setting }) => setting.vars.map((v) => v.name));
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], 'a variable declared twice');
    const inTopics = new Set(CONFIG_TOPICS.flatMap((t) => variablesOf(t.settings).map((v) => v.name)));
    assert.deepEqual(VARS.map((v) => v.name).filter((n) => !inTopics.has(n)), [], 'a setting in no topic: add its group to CONFIG_TOPICS');
    for (const v of VARS) assert.ok(v.doc.length > 0, `${v.name} has no doc line`);
  });

  it('reads every variable: its example changes the config', () => {
    const base = loadConfig({});
    for (const v of VARS) {
      const changed = loadConfig({ [v.name]: v.example() });
      assert.notDeepEqual(changed, base, `${v.name}=${v.example()} left the config as it was`);
    }
    const nativeBase = loadNativeInstallConfig({});
    for (const v of variablesOf(nativeInstall)) assert.notDeepEqual(loadNativeInstallConfig({ [v.name]: v.example() }), nativeBase, v.name);
  });

  it('hands every variable to a child, which reads back the same config', () => {
    const handed = new Set<string>();
    for (const env of [EXAMPLES, EXAMPLES_NO_DB, {}]) {
      const config = loadConfig(env);
      const childEnv = configToEnv(config);
      for (const v of VARS) if (typeof childEnv[v.name] === 'string') handed.add(v.name);
      // The embedded Postgres is the parent's alone: the child is handed its URL as DATABASE_URL.
      assert.deepEqual(loadConfig(childEnv), { ...config, embeddedPg: undefined });
    }
    assert.deepEqual(VARS.map((v) => v.name).filter((n) => !handed.has(n)), [], 'variables configToEnv never writes');
  });

  it('unsets in the child what the config leaves unset, whatever the parent\'s environment holds', () => {
    const key = 'k'.repeat(30);
    const childEnv = withProcessEnv({ ADMIN_API_KEY: key, S3_ENDPOINT: 'http://elsewhere:9000', PATH: process.env.PATH ?? '' }, () => configToEnv(loadConfig({})));
    assert.ok('ADMIN_API_KEY' in childEnv && childEnv.ADMIN_API_KEY === undefined);
    assert.ok('S3_ENDPOINT' in childEnv && childEnv.S3_ENDPOINT === undefined);
    assert.equal(childEnv.PATH, process.env.PATH, 'the rest of the environment is inherited');
  });
});

/** Values a variable's declaration refuses, with the message each must get. */
function refused(v: Variable): [string, string | RegExp][] {
  const a = v.accepts;
  const n = v.name;
  switch (a.kind) {
    case 'int':
      return [[String(a.min - 1), `${n} must be an integer >= ${a.min}, got "${a.min - 1}"`], ['1.5', `${n} must be an integer >= ${a.min}, got "1.5"`], ['ten', `${n} must be an integer >= ${a.min}, got "ten"`]];
    case 'bool':
      return [['maybe', `${n} must be true or false, got "maybe"`]];
    case 'oneOf':
      return [['bogus', `${n} must be one of ${a.values.join(', ')}`]];
    case 'url':
      return [['not a url', `${n} is not a valid URL`], ['ftp://example.test/', `${n} must use ${a.protocols.join(' or ')}`]];
    case 'secret':
      return [['s'.repeat(a.minLength - 1), `${n} must be at least ${a.minLength} characters`]];
    case 'bucket':
      return [['Not_A_Bucket', `${n} is not a valid bucket name`]];
    case 'list': {
      const bad = { host: 'a/b', origin: 'https://app.example.com/path', bucket: 'Not_A_Bucket' }[a.item];
      return [[`${v.example()},${bad}`, new RegExp(`^${n}: "${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" is not`)]];
    }
    case 'string':
      return [];
  }
}

describe('config bounds', () => {
  it('refuses every value outside a declaration\'s bounds, with the same words as ever', () => {
    let checked = 0;
    for (const v of VARS) {
      for (const [value, message] of refused(v)) {
        const env = { ...EXAMPLES_NO_DB, [v.name]: value };
        assert.throws(() => loadConfig(env), (err: unknown) => {
          assert.ok(err instanceof ConfigError, `${v.name}=${value}: ${String(err)}`);
          if (typeof message === 'string') assert.equal(err.message, message);
          else assert.match(err.message, message);
          return true;
        }, `${v.name}=${JSON.stringify(value)} was accepted`);
        checked += 1;
      }
    }
    assert.ok(checked > 60, `only ${checked} refusals checked`);
  });

  it('takes the bounds themselves, and lowers a value past its ceiling to the ceiling', () => {
    for (const v of VARS) {
      const a = v.accepts;
      const path = fieldOf(SETTINGS, v.name);
      if (a.kind === 'int') {
        assert.doesNotThrow(() => loadConfig({ ...EXAMPLES_NO_DB, [v.name]: String(a.min) }), v.name);
        if (typeof a.cap === 'number') assert.equal(valueAt(loadConfig({ [v.name]: String(a.cap + 1) }), path!), a.cap, v.name);
        if (typeof a.cap === 'string') assert.equal(valueAt(loadConfig({ [a.cap]: '200', [v.name]: '5000' }), path!), 200, v.name);
      }
      if (a.kind === 'oneOf') {
        for (const value of a.values) {
          const config = loadConfig({ [v.name]: value });
          if (path) assert.equal(valueAt(config, path), value);
        }
      }
      if (a.kind === 'secret') assert.equal(valueAt(loadConfig({ [v.name]: 's'.repeat(a.minLength) }), path!), 's'.repeat(a.minLength));
      if (a.kind === 'bool' && path) {
        for (const [text, value] of [['YES', true], ['1', true], ['no', false], ['False', false]] as const) assert.equal(valueAt(loadConfig({ [v.name]: text }), path), value, `${v.name}=${text}`);
      }
    }
  });
});

// The types come from the declarations: `npm run typecheck` fails here if a kind infers the wrong one.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const inferred: [
  Same<Config['port'], number>,
  Same<Config['tfBackend'], 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu'>,
  Same<Config['auth']['adminApiKey'], string | undefined>,
  Same<Config['s3']['sourceBuckets'], readonly string[]>,
  Same<Config['embeddedPg'], { readonly dir: string; readonly port: number } | undefined>,
  Same<NativeInstallConfig['wheel'], string | undefined>,
] = [true, true, true, true, true, true];
void inferred;

describe('config special cases', () => {

  it('keeps the rules that span settings', () => {
    assert.equal(loadConfig({}).worker.trainThreads, Math.min(8, availableParallelism()));
    assert.deepEqual(loadConfig({ S3_BUCKET: 'ours', S3_SOURCE_BUCKETS: 'theirs,ours' }).s3.sourceBuckets, ['ours', 'theirs']);
    assert.deepEqual(loadConfig({}).embeddedPg, { dir: '.data/pg', port: 0 });
    assert.deepEqual(loadConfig({ DATABASE_URL: '' }).embeddedPg, { dir: '.data/pg', port: 0 }, 'an empty value counts as unset');
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://db.example.test/x', EMBEDDED_PG_PORT: '5' }).embeddedPg, undefined);
    assert.equal(loadConfig({ LOG_FORMAT: 'json', LOG_PRETTY: 'true' }).logPretty, false, 'LOG_FORMAT wins over LOG_PRETTY');
    assert.equal(loadConfig({ LOG_PRETTY: 'true' }).logPretty, true);
  });

  it('changes one field with withDatabaseUrl and withS3Endpoint', () => {
    const c = loadConfig({});
    assert.deepEqual(withDatabaseUrl(c, 'postgres://elsewhere/x'), { ...c, databaseUrl: 'postgres://elsewhere/x' });
    assert.deepEqual(withS3Endpoint(c, 'http://s3.example.test'), { ...c, s3: { ...c.s3, endpoint: 'http://s3.example.test' } });
  });

  it('orders loadConfigWith: overrides, then the environment, then the defaults', () => {
    withProcessEnv({ QUEUE_NAME: 'from-env' }, () => {
      assert.equal(loadConfigWith({}, { QUEUE_NAME: 'from-defaults' }).queueName, 'from-env');
      assert.equal(loadConfigWith({ QUEUE_NAME: 'from-overrides' }, { QUEUE_NAME: 'from-defaults' }).queueName, 'from-overrides');
      assert.equal(loadConfigWith({}, { PORT: '4000' }).port, process.env.PORT ? Number(process.env.PORT) : 4000);
    });
  });

  it('gives the sandbox none of the settings', () => {
    const env = withProcessEnv({ ADMIN_API_KEY: 'k'.repeat(30), DATABASE_URL: 'postgres://secret@db/x' }, () => sandboxEnv());
    assert.deepEqual(Object.keys(env).filter((k) => !['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT'].includes(k)), []);
  });

  it('reads the native install\'s settings', () => {
    assert.deepEqual(loadNativeInstallConfig({ TF_WHEEL: '' }), {
      dir: DEFAULT_NATIVE_DIR,
      wheel: undefined,
      pipSpec: 'tensorflow-cpu==2.21.0',
      python: 'python3',
      nodedir: undefined,
      nodeGyp: undefined,
      npmCli: undefined,
    });
  });
});

describe('config docs', () => {
  it('has docs/configuration.md tables as the declarations render them', async () => {
    const docs = await readFile(CONFIG_DOCS_PATH, 'utf8');
    const current = spliceConfigTables(docs, renderConfigTables(CONFIG_TOPICS));
    assert.ok(docs === current, 'docs/configuration.md tables are out of date: run `npm run docs:config`');
    for (const v of VARS) assert.ok(docs.includes(`| \`${v.name}\` |`), `${v.name} is not in docs/configuration.md`);
  });
});
