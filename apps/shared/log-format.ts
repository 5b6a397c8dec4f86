// JSON lines for machines, pino-pretty for a person at a terminal. Kept apart
// from config.ts so the choice is a pure function that tests can drive.
import { createRequire } from 'node:module';

export type LogFormatChoice = 'auto' | 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormatChoice[] = ['auto', 'json', 'pretty'];

export interface LogFormatInputs {
  /** LOG_FORMAT; `auto` (or unset) defers to LOG_PRETTY, then to the terminal. */
  format: LogFormatChoice;
  /** LOG_PRETTY, when set: the older on/off switch. */
  pretty?: boolean;
  nodeEnv?: string;
  stdoutIsTTY: boolean;
  /** Whether pino-pretty can be loaded; asked only when pretty logs are wanted. */
  prettyInstalled: () => boolean;
}

/** True for pretty logs. pino-pretty is a devDependency: without it (npm ci --omit=dev), JSON. */
export function wantsPrettyLogs(i: LogFormatInputs): boolean {
  const wanted = i.format !== 'auto' ? i.format === 'pretty' : (i.pretty ?? (i.stdoutIsTTY && i.nodeEnv !== 'production'));
  return wanted && i.prettyInstalled();
}

export function pinoPrettyInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}
