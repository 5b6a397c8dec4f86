// Worker-thread entry: threads do not inherit the parent's --import tsx, so
// register it here before loading the TypeScript peer.
import { register } from 'tsx/esm/api';

register();
await import('./peer-thread.ts');
