// The benches' own processes: each bench forks itself with a role, and a child reports
// with one IPC message once it is up (or has its result). Shared by bench:registration,
// bench:data and bench:tabular.
import { fork, type ChildProcess } from 'node:child_process';

export interface Forked {
  child: ChildProcess;
  /** The child's first message. */
  info: Record<string, unknown>;
}

/**
 * Forks `script` (a bench file, run through tsx) with `args`, `args[0]` being the role,
 * and waits for its first message. `env` unset: this process's environment.
 */
export function forkChild(script: string, args: string[], opts: { env?: NodeJS.ProcessEnv; execArgv?: string[] } = {}): Promise<Forked> {
  const child = fork(script, args, { execArgv: [...(opts.execArgv ?? []), '--import', 'tsx'], env: opts.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (info) => resolve({ child, info: info as Record<string, unknown> }));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}) before it reported`)));
  });
}

/** The child side of role s3: an embedded S3 server in `dir`; sends its endpoint, and stops when the parent lets go. */
export async function runS3Child(dir: string): Promise<void> {
  // Loaded here, in the child: the parent never runs the server.
  const { startEmbeddedS3 } = await import('../shared/storage/embedded-s3.ts');
  const s3 = await startEmbeddedS3({ dir, port: 0 });
  process.send!({ endpoint: s3.endpoint });
  process.on('disconnect', () => void s3.close().then(() => process.exit(0)));
}
