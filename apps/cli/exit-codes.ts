// The CLI's exit statuses: scripts branch on them (docs/dashboard-cli-client.md).
export const EXIT = {
  /** The command did what it was asked; a followed job succeeded. */
  ok: 0,
  /** A followed job failed. */
  jobFailed: 1,
  /** Bad command line: unknown command or flag, missing argument, unreadable spec file. */
  usage: 2,
  /** The API refused the request or could not be reached (ApiError). */
  api: 3,
  /** A followed job was cancelled. */
  jobCancelled: 4,
  /** Ctrl-C while following: the CLI stopped, the job did not. */
  detached: 130,
  /** A bug in the CLI itself. */
  internal: 70,
} as const;

export class UsageError extends Error {}
