// Tenants and their API keys, for the operator's routes (routes/admin.ts).
import { randomUUID } from 'node:crypto';
import type { Db } from '../../../shared/db/prisma.ts';
import type { ApiKey, Tenant } from '../../../shared/generated/prisma/client.ts';
import { newApiKey } from '../../../shared/auth/api-keys.ts';
import { NotFoundError } from '../../../shared/errors.ts';

export const keyView = (k: ApiKey) => ({
  id: k.id,
  tenantId: k.tenantId,
  name: k.name,
  prefix: k.prefix,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
});

export const tenantView = (t: Pick<Tenant, 'id' | 'name' | 'createdAt'>) => ({ id: t.id, name: t.name, createdAt: t.createdAt.toISOString() });

/** How many tenants a list shows, oldest first. */
const TENANT_PAGE = 1000;

export class TenantService {
  constructor(private readonly db: Db) {}

  create(name: string): Promise<Tenant> {
    return this.db.tenant.create({ data: { id: randomUUID(), name } });
  }

  list(): Promise<Tenant[]> {
    return this.db.tenant.findMany({ orderBy: { createdAt: 'asc' }, take: TENANT_PAGE });
  }

  /** The new key in clear, this once: only its hash is stored. */
  async createKey(tenantId: string, name: string): Promise<{ row: ApiKey; key: string }> {
    const tenant = await this.db.tenant.findUnique({ where: { id: tenantId } });
    if (!tenant) throw new NotFoundError('tenant', tenantId);
    const fresh = newApiKey();
    const row = await this.db.apiKey.create({ data: { id: randomUUID(), tenantId: tenant.id, name, prefix: fresh.prefix, hash: fresh.hash } });
    return { row, key: fresh.key };
  }

  async keys(tenantId: string): Promise<ApiKey[]> {
    if (!(await this.db.tenant.findUnique({ where: { id: tenantId } }))) throw new NotFoundError('tenant', tenantId);
    return this.db.apiKey.findMany({ where: { tenantId }, orderBy: { createdAt: 'asc' } });
  }

  /** Revoking a revoked key changes nothing. */
  async revokeKey(id: string): Promise<ApiKey> {
    const found = await this.db.apiKey.findUnique({ where: { id } });
    if (!found) throw new NotFoundError('api_key', id);
    return found.revokedAt ? found : this.db.apiKey.update({ where: { id: found.id }, data: { revokedAt: new Date() } });
  }
}
