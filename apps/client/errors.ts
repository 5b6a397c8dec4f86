// What a failed call throws: the service's error shape {error:{code,message,details?}}
// with the HTTP status, so callers branch on `code`, never on message text.
import type { ErrorBody } from './types.ts';

export class ApiError extends Error {
  /** HTTP status; 0 when no response came back (connection refused, reset, stream lost). */
  readonly status: number;
  /** The service's stable code (job_not_found, validation_failed, ...); `http_<status>` for a non-JSON reply. */
  readonly code: string;
  readonly details?: unknown;
  /** The x-request-id of the response, to find it in the service's logs. */
  readonly requestId?: string;

  constructor(status: number, code: string, message: string, details?: unknown, requestId?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }

  /** Builds the error from a non-2xx response, whatever its body. */
  static async fromResponse(res: Response): Promise<ApiError> {
    const requestId = res.headers.get('x-request-id') ?? undefined;
    const text = await res.text().catch(() => '');
    try {
      const body = JSON.parse(text) as Partial<ErrorBody>;
      if (body.error && typeof body.error.code === 'string') {
        return new ApiError(res.status, body.error.code, body.error.message ?? res.statusText, body.error.details, requestId);
      }
    } catch {
      // Not JSON (a proxy's HTML page, say): fall through.
    }
    return new ApiError(res.status, `http_${res.status}`, text.slice(0, 200) || res.statusText || `HTTP ${res.status}`, undefined, requestId);
  }

  toJSON() {
    return { status: this.status, code: this.code, message: this.message, ...(this.details !== undefined ? { details: this.details } : {}), ...(this.requestId ? { requestId: this.requestId } : {}) };
  }
}
