// The soak's report lines, stamped with the time since it started.
const t0 = Date.now();

export const elapsedSeconds = () => Math.round((Date.now() - t0) / 1000);

export function stamp(): string {
  const s = Math.floor((Date.now() - t0) / 1000);
  return `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}]`;
}

export const say = (msg: string) => console.log(`${stamp()} ${msg}`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
