// Read by the Prisma CLI only (generate; migrate where its engine is available).
// The services take DATABASE_URL from apps/shared/config.ts.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/finetune' },
});
