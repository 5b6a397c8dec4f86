// The one place that reads process.env (with config/, which also hands native
// TensorFlow its settings: config/tf-env.ts). Everything else receives a typed,
// frozen Config, so tests can build one by hand with loadConfig({...}).
//
// Each setting is declared once, in a topic file under config/ (name, kind,
// default, bounds, docs text, and its place in Config); the Config type, the
// loader, configToEnv and docs/configuration.md's table (npm run docs:config) derive from
// those declarations. To add a setting, add one line to the topic it belongs to.
import { limits, modelInspector } from './config/limits.ts';
import { httpServer, keys, webhooks } from './config/service.ts';
import { readGroup, writeGroup, type Env, type EnvOut, type Group, type ValuesOf } from './config/setting.ts';
import { storage } from './config/storage.ts';
import { nativeInstall, tensorflow, workers } from './config/worker.ts';
import { outages } from './config/outages.ts';

export { ConfigError } from './config/setting.ts';
export { DEFAULT_NATIVE_DIR, type TfBackendChoice } from './config/worker.ts';

/** The declarations by topic, in docs/configuration.md's order. */
export const CONFIG_TOPICS: readonly { title: string; settings: Group }[] = [
  { title: 'HTTP service', settings: httpServer },
  { title: 'Keys', settings: keys },
  { title: 'Postgres, Redis and S3', settings: storage },
  { title: 'Workers', settings: workers },
  { title: 'Outages', settings: outages },
  { title: 'TensorFlow', settings: tensorflow },
  { title: 'Limits', settings: limits },
  { title: 'Model inspector', settings: modelInspector },
  { title: 'Webhooks', settings: webhooks },
  { title: '`npm run native:install`', settings: nativeInstall },
];

/** The service's settings, nested as Config is. */
export const SETTINGS = {
  ...httpServer,
  ...keys,
  ...storage,
  ...workers,
  ...outages,
  ...tensorflow,
  ...limits,
  ...modelInspector,
  ...webhooks,
};

/** The service's configuration, typed from the declarations; TSDoc and defaults are at each declaration. */
export interface Config extends ValuesOf<typeof SETTINGS> {}

/** What `npm run native:install` gets, from where (apps/native/install.ts). */
export interface NativeInstallConfig extends ValuesOf<typeof nativeInstall> {}

export function loadConfig(env: Env = process.env): Config {
  return readGroup(SETTINGS, env);
}

/**
 * This process's environment with settings of the caller's own: `overrides` win
 * over the environment, which wins over `defaults`. For scripts and tests that
 * run parts of the service beside each other.
 */
export function loadConfigWith(overrides: Env, defaults: Env = {}): Config {
  return loadConfig({ ...defaults, ...process.env, ...overrides });
}

/**
 * The environment that reproduces `config` in a child process (the worker's
 * sandboxes), so a child sees exactly its parent's settings, tests' included.
 * A setting the config leaves unset is unset in the child too, whatever this
 * process's environment holds; the embedded Postgres is the parent's alone (the
 * child is handed DATABASE_URL).
 */
export function configToEnv(config: Config): EnvOut {
  // Inherit the rest (PATH, HOME, CUDA's LD_LIBRARY_PATH, ...).
  return { ...process.env, ...writeGroup(SETTINGS, config) };
}

/** This process's environment with some variables changed, for a child (the backend probe). */
export function envWith(overrides: Env): EnvOut {
  return { ...process.env, ...overrides };
}

export function loadNativeInstallConfig(env: Env = process.env): NativeInstallConfig {
  return readGroup(nativeInstall, env);
}

/**
 * The environment of a child that handles untrusted input (the model inspector): enough to
 * run node, and none of the service's settings, keys or credentials.
 */
export function sandboxEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT'];
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]!]])));
}

/** Same config, pointed at the embedded Postgres once it is up. */
export function withDatabaseUrl(config: Config, databaseUrl: string): Config {
  return Object.freeze({ ...config, databaseUrl });
}

/** Same config, with the S3 endpoint filled in (once the embedded server is up). */
export function withS3Endpoint(config: Config, endpoint: string): Config {
  return Object.freeze({ ...config, s3: Object.freeze({ ...config.s3, endpoint }) });
}
