/** PostgreSQL failures as custody errors: constraint violations become conflicts, the rest store failures. */
import { CustodyError } from '@custody/core/errors';

/** The fields of a `pg` DatabaseError this package reads. */
interface PgErrorFields {
  code?: string;
  constraint?: string;
  detail?: string;
  message?: string;
}

/**
 * SQLSTATE of `e` if it is a database error, or the errno code of a connection error (the first of an
 * AggregateError's, when the client tried several addresses).
 */
export function sqlState(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as PgErrorFields).code;
  if (code === undefined && e instanceof AggregateError) return sqlState(e.errors[0]);
  return code;
}

/** The violated constraint of a unique violation (23505), else undefined. */
export function uniqueViolation(e: unknown): string | undefined {
  return sqlState(e) === '23505' ? ((e as PgErrorFields).constraint ?? '') : undefined;
}

/** The value a unique violation names in its detail (`Key (serial)=(X) already exists.`). */
export function violatingValue(e: unknown): string {
  const m = /\)=\((.*)\) already exists/.exec((e as PgErrorFields).detail ?? '');
  return (m?.[1] ?? '').replace(/^\\x/, '');
}

/** Failures worth running the same transaction again for: serialization failure, deadlock. */
export function isTransient(e: unknown): boolean {
  const s = sqlState(e);
  return s === '40001' || s === '40P01';
}

/** Connection-level failures: the server is unreachable, refuses us, or has no such database. */
export function isConnectionFailure(e: unknown): boolean {
  const s = sqlState(e) ?? '';
  return (
    /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN|EPIPE)$/.test(s) ||
    s.startsWith('08') ||
    s.startsWith('28') ||
    s === '57P01' ||
    s === '57P03'
  );
}

/**
 * Wraps an unexpected failure: ERR_STORE_MISSING for a missing database, ERR_STORE_UNAVAILABLE when the server
 * cannot be reached, ERR_STORE_IO for anything else. A CustodyError passes through unchanged.
 */
export function storeError(e: unknown, location: string, what: string): CustodyError {
  if (e instanceof CustodyError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (sqlState(e) === '3D000') return new CustodyError('ERR_STORE_MISSING', `${location}: ${msg} (run "custody init" first)`, { cause: e });
  if (isConnectionFailure(e)) return new CustodyError('ERR_STORE_UNAVAILABLE', `${location}: cannot ${what}: ${msg}`, { cause: e });
  return new CustodyError('ERR_STORE_IO', `${location}: cannot ${what}: ${msg}`, { cause: e });
}

/**
 * The duplicate error a unique violation on `devices` or `attestations` stands for, else undefined; `serial`
 * names the device in the message when known.
 */
export function duplicateError(e: unknown, location: string, serial?: string): CustodyError | undefined {
  const constraint = uniqueViolation(e);
  if (constraint === undefined) return undefined;
  const value = violatingValue(e);
  const about = serial === undefined ? '' : `device ${serial}: `;
  switch (constraint) {
    case 'devices_serial_key':
      return new CustodyError('ERR_DUPLICATE_SERIAL', `${location}: device serial ${value} was issued before`, { cause: e });
    case 'devices_spki_key':
      return new CustodyError('ERR_DUPLICATE_KEY', `${location}: ${about}public key ${value.slice(0, 16)}... is already certified`, { cause: e });
    case 'devices_cert_serial_key':
      return new CustodyError('ERR_DUPLICATE_CERT_SERIAL', `${location}: ${about}certificate serial ${value} was used before`, { cause: e });
    case 'attestations_hash_key':
      return new CustodyError('ERR_DUPLICATE_ATTESTATION', `${location}: ${about}attestation ${value.slice(0, 16)}... is already recorded for a device`, {
        cause: e,
      });
    default:
      return undefined;
  }
}
