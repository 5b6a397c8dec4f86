// What a setting is: the environment variables it reads, how it reads them, how
// it writes its value back for a child process, and how docs/configuration.md documents it.
// A Group nests settings the way Config nests its fields, so the Config type,
// the loader, the child-process hand-off and the docs table all come from one
// tree of declarations (apps/shared/config.ts assembles it).

/** An environment, as process.env or a test's literal. An empty value counts as unset. */
export type Env = Readonly<Record<string, string | undefined>>;
/** An environment to hand a child: `undefined` removes an inherited variable. */
export type EnvOut = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** What a variable accepts: rendered in the configuration docs' table, and turned into bad values by the bounds test. */
export type Accepts =
  | { kind: 'string'; what?: string }
  | { kind: 'int'; min: number; cap?: number | string }
  | { kind: 'bool' }
  | { kind: 'oneOf'; values: readonly string[] }
  | { kind: 'url'; protocols: readonly string[] }
  | { kind: 'secret'; minLength: number }
  | { kind: 'bucket' }
  | { kind: 'list'; item: ListItemKind };

export type ListItemKind = 'host' | 'origin' | 'bucket';

/** One environment variable, as docs/configuration.md documents it. */
export interface Variable {
  readonly name: string;
  readonly accepts: Accepts;
  /** The default as docs/configuration.md shows it (markdown). */
  readonly shownDefault: string;
  /** The configuration docs' "Meaning" cell (markdown). */
  readonly doc: string;
  /** A valid value other than the default, so the round-trip test sees the variable honoured. */
  readonly example: () => string;
  /** Set by a tool (npm sets npm_config_* for scripts), not by the operator: not in the configuration docs' table. */
  readonly hidden?: boolean;
}

/** How a setting reads and writes its value (method syntax: a Setting<string> is a Setting<unknown>). */
export interface Codec<T> {
  read(env: Env): T;
  /** The variables that reproduce `value` in a child's environment. */
  write(value: T): EnvOut;
}

/** One field of the config, read from one or more variables. */
export class Setting<T> {
  constructor(
    readonly vars: readonly Variable[],
    private readonly codec: Codec<T>,
  ) {}

  read(env: Env): T {
    return this.codec.read(env);
  }

  write(value: T): EnvOut {
    return this.codec.write(value);
  }
}

/** Settings nested as the config nests them; a key's position here is the field's position there. */
export interface Group {
  readonly [key: string]: Setting<unknown> | Group;
}

/** The config a group of declarations reads to, inferred: the types are never written twice. */
export type ValuesOf<G> = { readonly [K in keyof G]: G[K] extends Setting<infer T> ? T : ValuesOf<G[K]> };

export function readGroup<G extends Group>(group: G, env: Env): ValuesOf<G> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(group)) out[key] = item instanceof Setting ? item.read(env) : readGroup(item, env);
  // The walk above builds exactly the fields ValuesOf<G> names, one per key.
  return Object.freeze(out) as ValuesOf<G>;
}

export function writeGroup<G extends Group>(group: G, values: ValuesOf<G>): EnvOut {
  const out: EnvOut = {};
  const fields: Readonly<Record<string, unknown>> = values;
  for (const [key, item] of Object.entries(group)) {
    const value = fields[key];
    if (item instanceof Setting) Object.assign(out, item.write(value));
    else Object.assign(out, writeGroup(item, value as ValuesOf<Group>));
  }
  return out;
}

/** Every setting of a group with its path in the config (`['s3', 'bucket']`), in declaration order. */
export function settingsOf(group: Group, path: readonly string[] = []): { path: string[]; setting: Setting<unknown> }[] {
  return Object.entries(group).flatMap(([key, item]) =>
    item instanceof Setting ? [{ path: [...path, key], setting: item }] : settingsOf(item, [...path, key]),
  );
}

/** Every variable a group reads, in declaration order, each once. */
export function variablesOf(group: Group): Variable[] {
  const seen = new Map<string, Variable>();
  for (const { setting } of settingsOf(group)) for (const v of setting.vars) if (!seen.has(v.name)) seen.set(v.name, v);
  return [...seen.values()];
}
