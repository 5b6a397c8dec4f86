// fast-check arbitraries from JSON Schema (the subset TypeBox and
// /openapi.json use): values that fit a schema, and mutations of them that
// most likely do not. Ours, small, because no maintained package fits OpenAPI
// 3.1's component refs and the service's patterns.
import fc from 'fast-check';

type Schema = Record<string, any>;

export interface ArbitraryOptions {
  /** The document's components.schemas, for `#/components/schemas/<name>` refs. */
  defs: Record<string, Schema>;
  /** Arbitraries that replace a property's by name, wherever it appears (ids from a pool, small counts). */
  overrides?: Record<string, fc.Arbitrary<unknown>>;
  /** Strings whose schema pattern matches the RegExp come from the function's arbitrary instead (uuids, s3 URIs). */
  patterns?: Array<[RegExp, (pattern: RegExp) => fc.Arbitrary<string>]>;
  /** How deep objects and arrays may nest before only the smallest valid value is generated. */
  maxDepth?: number;
}

/** The pattern without its leading lookaheads (which fast-check cannot generate from): `(?!…)` / `(?=…)`. */
function withoutLookaheads(pattern: string): string {
  let out = pattern;
  for (let at = out.indexOf('(?'); at >= 0; at = out.indexOf('(?', at)) {
    if (out[at + 2] !== '!' && out[at + 2] !== '=') {
      at += 2;
      continue;
    }
    let depth = 0;
    let end = at;
    for (; end < out.length; end++) {
      if (out[end] === '\\') end++;
      else if (out[end] === '(') depth++;
      else if (out[end] === ')' && --depth === 0) break;
    }
    out = out.slice(0, at) + out.slice(end + 1);
  }
  return out;
}

function stringArb(s: Schema, o: ArbitraryOptions): fc.Arbitrary<string> {
  if (s.pattern) {
    const full = new RegExp(s.pattern, 'u');
    for (const [match, arb] of o.patterns ?? []) if (match.test(s.pattern)) return arb(full);
    let arb: fc.Arbitrary<string>;
    try {
      arb = fc.stringMatching(full);
    } catch {
      arb = fc.stringMatching(new RegExp(withoutLookaheads(s.pattern), 'u')).filter((v) => full.test(v));
    }
    return arb.filter((v) => v.length >= (s.minLength ?? 0) && v.length <= (s.maxLength ?? Infinity));
  }
  if (s.format === 'date-time') return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString());
  if (s.format === 'uri') return fc.webUrl();
  return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, (s.minLength ?? 0) + 40), unit: 'grapheme' });
}

function numberArb(s: Schema, integer: boolean): fc.Arbitrary<number> {
  const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (integer ? 1 : Number.EPSILON) : -1e6);
  const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - (integer ? 1 : Number.EPSILON) : 1e6);
  if (integer) return fc.integer({ min: Math.ceil(Math.max(min, Number.MIN_SAFE_INTEGER)), max: Math.floor(Math.min(max, Number.MAX_SAFE_INTEGER)) });
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).filter((v) => (s.exclusiveMinimum === undefined || v > s.exclusiveMinimum) && (s.exclusiveMaximum === undefined || v < s.exclusiveMaximum));
}

function objectArb(s: Schema, o: ArbitraryOptions, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props: Record<string, Schema> = s.properties ?? {};
  const required = new Set<string>(s.required ?? []);
  if (Object.keys(props).length === 0 && s.additionalProperties !== false) {
    const values = typeof s.additionalProperties === 'object' ? arbitraryFor(s.additionalProperties, o, depth + 1) : fc.jsonValue({ maxDepth: 1 });
    return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), values, { maxKeys: 3 });
  }
  // Deep down, only what is required: it keeps the values (and the requests) small.
  const deep = depth >= (o.maxDepth ?? 6);
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, schema] of Object.entries(props)) {
    if (!deep || required.has(name)) record[name] = o.overrides?.[name] ?? arbitraryFor(schema, o, depth + 1);
  }
  return fc.record(record, { requiredKeys: [...required].filter((k) => k in record) }) as fc.Arbitrary<Record<string, unknown>>;
}

/** Values that fit `schema`. */
export function arbitraryFor(schema: Schema, o: ArbitraryOptions, depth = 0): fc.Arbitrary<unknown> {
  if (schema.$ref) return arbitraryFor(o.defs[String(schema.$ref).split('/').pop()!], o, depth);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return fc.oneof(...union.map((s: Schema) => arbitraryFor(s, o, depth)));
  if (schema.allOf) return fc.tuple(...schema.allOf.map((s: Schema) => arbitraryFor(s, o, depth))).map((parts) => Object.assign({}, ...parts));
  const type = Array.isArray(schema.type) ? fc.constantFrom(...schema.type) : undefined;
  if (type) return type.chain((t) => arbitraryFor({ ...schema, type: t }, o, depth));
  switch (schema.type) {
    case 'string':
      return stringArb(schema, o);
    case 'integer':
      return numberArb(schema, true);
    case 'number':
      return numberArb(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minLength = schema.minItems ?? 0;
      const maxLength = Math.min(schema.maxItems ?? 4, minLength + (depth >= (o.maxDepth ?? 6) ? 0 : 4));
      const items = arbitraryFor(schema.items ?? {}, o, depth + 1);
      return schema.uniqueItems ? fc.uniqueArray(items, { minLength, maxLength, selector: (v) => JSON.stringify(v) }) : fc.array(items, { minLength, maxLength });
    }
    case 'object':
      return objectArb(schema, o, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Every path to a value inside `v` (the root is []). */
function paths(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  const children = Array.isArray(v) ? v.map((x, i) => paths(x, [...at, i])) : v && typeof v === 'object' ? Object.entries(v).map(([k, x]) => paths(x, [...at, k])) : [];
  return [at, ...children.flat()];
}

function setAt(root: unknown, path: Array<string | number>, make: (old: unknown) => unknown | typeof REMOVE): unknown {
  if (path.length === 0) return make(root);
  const copy: any = Array.isArray(root) ? [...root] : { ...(root as object) };
  const [head, ...rest] = path;
  const next = setAt(copy[head], rest, make);
  if (next === REMOVE) Array.isArray(copy) ? copy.splice(Number(head), 1) : delete copy[head];
  else copy[head] = next;
  return copy;
}
const REMOVE = Symbol('remove');

/** `value` with one thing wrong: a part replaced by another JSON value, removed, or an unknown field added. */
export function mutationOf(value: unknown): fc.Arbitrary<unknown> {
  const all = paths(value);
  const junk = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(-1, 0, 1e308, -1e308, 2 ** 53, 0.5, '', 'x'.repeat(5000), '\u0000', '\u202e', '../..', null, [], {}),
  );
  return fc.tuple(fc.nat({ max: all.length - 1 }), fc.nat({ max: 2 }), junk, fc.string({ minLength: 1, maxLength: 12 })).map(([i, op, replacement, key]) => {
    const path = all[i];
    if (op === 0 || path.length === 0) return setAt(value, path, () => replacement);
    if (op === 1) return setAt(value, path, () => REMOVE);
    return setAt(value, path.slice(0, -1), (parent) => (parent && typeof parent === 'object' && !Array.isArray(parent) ? { ...parent, [key]: replacement } : replacement));
  });
}
