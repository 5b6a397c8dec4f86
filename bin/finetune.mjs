#!/usr/bin/env node
// The `finetune` CLI. The project runs TypeScript through tsx, with no build
// step, so this launcher registers tsx's loader and runs apps/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../apps/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
