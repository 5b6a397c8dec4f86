import { Type } from '@sinclair/typebox';

/** Canonical 8-4-4-4-12 hex only (ajv's uuid format also takes a urn:uuid: prefix Postgres refuses). */
export const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', maxLength: 36 });
