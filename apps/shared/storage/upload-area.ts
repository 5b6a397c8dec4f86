// Where a tenant may put files for the service to read: its own upload area in
// the service's bucket. Everything else there (models/, datasets/, jobs/,
// cache/, other tenants' areas) is the service's, and registration never reads it.

/** A tenant's upload area in S3_BUCKET. */
export function uploadPrefix(tenantId: string): string {
  return `uploads/${tenantId}/`;
}

/** A file name inside the area: path segments of letters, digits, `.`, `_`, `-`; no `.` or `..` segment. */
export const UPLOAD_NAME_PATTERN = '^(?!(?:.*/)?\\.{1,2}(?:/|$))[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*$';
