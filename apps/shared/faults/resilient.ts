// A Db and a Storage that wait out outages (rideOut) instead of failing: the
// worker's training process uses them, so that a Postgres restart or an S3
// blip pauses a job at its next read or write rather than costing it an attempt.
// Every retried call is whole: a transaction is run again from its start (its
// fenced writes check the lease again), an upload sends the whole object again.
import type { Db } from '../db/prisma.ts';
import type { Storage } from '../storage/s3-storage.ts';
import { dependencyFault } from './classify.ts';
import { rideOut, type OutagePolicy } from './ride-out.ts';

const RAW = new Set(['$queryRaw', '$executeRaw', '$queryRawUnsafe', '$executeRawUnsafe']);

/** The delegate's (db.job's, db.checkpoint's...) methods, each waited out. */
function delegate(target: object, policy: OutagePolicy): object {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => rideOut(() => value.apply(t, args), dependencyFault, policy);
    },
  });
}

export function resilientDb(db: Db, policy: OutagePolicy): Db {
  const delegates = new Map<PropertyKey, object>();
  return new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === '$transaction') {
        // Interactive transactions only: the array form takes promises already made.
        return (arg: unknown, ...rest: unknown[]) => (typeof arg === 'function'
          ? rideOut(() => (target.$transaction as (...a: unknown[]) => Promise<unknown>)(arg, ...rest), dependencyFault, policy)
          : (target.$transaction as (...a: unknown[]) => Promise<unknown>)(arg, ...rest));
      }
      if (typeof prop === 'string' && RAW.has(prop)) {
        return (...args: unknown[]) => rideOut(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args), dependencyFault, policy);
      }
      if (typeof prop === 'string' && !prop.startsWith('$') && !prop.startsWith('_') && value && typeof value === 'object') {
        if (!delegates.has(prop)) delegates.set(prop, delegate(value, policy));
        return delegates.get(prop);
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const STORAGE_CALLS = new Set(['put', 'getBytes', 'list', 'deletePrefix', 'ping']);

export function resilientStorage(storage: Storage, policy: OutagePolicy): Storage {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof prop === 'string' && STORAGE_CALLS.has(prop) && typeof value === 'function') {
        return (...args: unknown[]) => rideOut(() => value.apply(target, args), dependencyFault, policy);
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
