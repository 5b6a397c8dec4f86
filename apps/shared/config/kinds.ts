// The kinds of setting a declaration can be. Each builder knows how to read its
// variable (with the validation and error wording the service has always had),
// how to write a value back, what to show in docs/configuration.md, and a non-default
// example for the round-trip test. Add a setting by calling one of these in the
// topic file it belongs to.
import { ConfigError, readGroup, Setting, variablesOf, writeGroup, type Accepts, type Env, type EnvOut, type Group, type ListItemKind, type ValuesOf, type Variable } from './setting.ts';
import { BUCKET_NAME, listItem } from './lists.ts';

interface Doc {
  /** The configuration docs' "Meaning" cell (markdown). */
  doc: string;
  /** The configuration docs' "Default" cell, where the default isn't a plain value. */
  shown?: string;
  /** A valid non-default value, where the builder's own guess would not do. */
  example?: string;
}

function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function variable(name: string, accepts: Accepts, shownDefault: string, o: Doc, example: () => string, hidden?: boolean): Variable {
  const given = o.example;
  return { name, accepts, shownDefault: o.shown ?? shownDefault, doc: o.doc, example: given === undefined ? example : () => given, hidden };
}

/** One variable, one value: written back as its string form, or removed when unset. */
function single<T>(v: Variable, read: (env: Env) => T, format: (value: T) => string | undefined = (x) => (x === undefined ? undefined : String(x))): Setting<T> {
  return new Setting([v], { read, write: (value) => ({ [v.name]: format(value) }) });
}

export function str(name: string, fallback: string, o: Doc & { what?: string }): Setting<string> {
  return single(variable(name, { kind: 'string', what: o.what }, `\`${fallback}\``, o, () => `${fallback}-example`), (env) => raw(env, name) ?? fallback);
}

export function optionalStr(name: string, o: Doc & { what?: string; hidden?: boolean }): Setting<string | undefined> {
  return single(variable(name, { kind: 'string', what: o.what }, 'unset', o, () => 'example', o.hidden), (env) => raw(env, name));
}

function readInt(env: Env, name: string, min: number): number | undefined {
  const text = raw(env, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min}, got "${text}"`);
  return n;
}

/**
 * An integer of at least `min` (below it: refused). Above `cap` it counts as `cap`: a fixed
 * limit, or another setting's value (Node refuses a headers timeout past the request timeout).
 */
export function int(name: string, fallback: number | (() => number), o: Doc & { min?: number; cap?: number | Setting<number> }): Setting<number> {
  const min = o.min ?? 0;
  const dflt = typeof fallback === 'function' ? fallback : () => fallback;
  const cap = o.cap;
  const capName = cap instanceof Setting ? cap.vars[0].name : cap;
  const v = variable(name, { kind: 'int', min, cap: capName }, `\`${dflt()}\``, o, () => String(dflt() + 1));
  return single(v, (env) => {
    const n = readInt(env, name, min) ?? dflt();
    if (cap === undefined) return n;
    return Math.min(n, cap instanceof Setting ? cap.read(env) : cap);
  });
}

function parseBool(env: Env, name: string): boolean | undefined {
  const text = raw(env, name);
  if (text === undefined) return undefined;
  if (/^(1|true|yes)$/i.test(text)) return true;
  if (/^(0|false|no)$/i.test(text)) return false;
  throw new ConfigError(`${name} must be true or false, got "${text}"`);
}

export function bool(name: string, fallback: boolean, o: Doc): Setting<boolean> {
  return single(variable(name, { kind: 'bool' }, `\`${fallback}\``, o, () => String(!fallback)), (env) => parseBool(env, name) ?? fallback);
}

export function optionalBool(name: string, o: Doc): Setting<boolean | undefined> {
  return single(variable(name, { kind: 'bool' }, 'unset', o, () => 'true'), (env) => parseBool(env, name));
}

export function oneOf<const V extends string>(name: string, values: readonly V[], fallback: V, o: Doc): Setting<V> {
  const isValue = (s: string): s is V => (values as readonly string[]).includes(s);
  const other = values.find((x) => x !== fallback) ?? fallback;
  return single(variable(name, { kind: 'oneOf', values }, `\`${fallback}\``, o, () => other), (env) => {
    const text = raw(env, name) ?? fallback;
    if (!isValue(text)) throw new ConfigError(`${name} must be one of ${values.join(', ')}`);
    return text;
  });
}

function checkUrl(name: string, text: string, protocols: readonly string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(`${name} must use ${protocols.join(' or ')}`);
  return text;
}

export function url(name: string, protocols: readonly string[], fallback: string, o: Doc): Setting<string> {
  const v = variable(name, { kind: 'url', protocols }, `\`${fallback}\``, o, () => `${protocols[0]}//example.test:1234/example`);
  return single(v, (env) => checkUrl(name, raw(env, name) ?? fallback, protocols));
}

export function optionalUrl(name: string, protocols: readonly string[], o: Doc): Setting<string | undefined> {
  const v = variable(name, { kind: 'url', protocols }, 'unset', o, () => `${protocols[0]}//example.test:1234`);
  return single(v, (env) => {
    const text = raw(env, name);
    return text === undefined ? undefined : checkUrl(name, text, protocols);
  });
}

const SECRET_MIN_LENGTH = 24;

/** A credential: long enough to resist guessing, or unset. */
export function secret(name: string, o: Doc): Setting<string | undefined> {
  const v = variable(name, { kind: 'secret', minLength: SECRET_MIN_LENGTH }, 'unset', o, () => 'example-secret-'.padEnd(SECRET_MIN_LENGTH, 'x'));
  return single(v, (env) => {
    const text = raw(env, name);
    if (text !== undefined && text.length < SECRET_MIN_LENGTH) throw new ConfigError(`${name} must be at least ${SECRET_MIN_LENGTH} characters`);
    return text;
  });
}

export function bucket(name: string, fallback: string, o: Doc): Setting<string> {
  return single(variable(name, { kind: 'bucket' }, `\`${fallback}\``, o, () => `${fallback}-example`), (env) => {
    const text = raw(env, name) ?? fallback;
    if (!BUCKET_NAME.test(text)) throw new ConfigError(`${name} is not a valid bucket name`);
    return text;
  });
}

const LIST_EXAMPLES: Record<ListItemKind, string> = { host: '*.example.com:8443', origin: 'https://app.example.com', bucket: 'example-bucket' };

/**
 * Comma-separated entries, each checked and normalised as `item` says. With `including`, that
 * setting's value is always in the list, first (the service's own bucket among the readable ones).
 */
export function list(name: string, item: ListItemKind, o: Doc & { including?: Setting<string> }): Setting<readonly string[]> {
  const v = variable(name, { kind: 'list', item }, 'empty', o, () => LIST_EXAMPLES[item]);
  const including = o.including;
  return single(
    v,
    (env) => {
      const entries = (raw(env, name) ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((entry) => listItem(item, name, entry));
      return Object.freeze(including ? [...new Set([including.read(env), ...entries])] : entries);
    },
    (value) => value.join(','),
  );
}

/**
 * A group that exists only when `present(env)` says so (the embedded Postgres, only where
 * DATABASE_URL is unset); absent, its variables are removed from a child's environment.
 */
export function when<G extends Group>(present: (env: Env) => boolean, group: G): Setting<ValuesOf<G> | undefined> {
  const vars = variablesOf(group);
  const unset = (): EnvOut => Object.fromEntries(vars.map((v) => [v.name, undefined]));
  return new Setting(vars, {
    read: (env) => (present(env) ? readGroup(group, env) : undefined),
    write: (value) => (value === undefined ? unset() : writeGroup(group, value)),
  });
}
