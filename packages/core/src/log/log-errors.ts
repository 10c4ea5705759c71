/**
 * The error codes of the log maths. Codes are API: add, never rename. The ERR_LOG_ prefix is not in the
 * category table of `errors.ts`, so each code states its category here (proof and signature failures are
 * rejections, exit 1; a missing stored node is a store failure, exit 5; the rest is bad input, exit 3).
 */
import { CustodyError, type ErrorCategory } from '../errors.js';

/** Stable codes thrown by `packages/core/src/log/`. */
export const LOG_ERROR_CODES = {
  /** An inclusion proof does not verify (or is malformed). */
  proof: 'ERR_LOG_PROOF',
  /** A consistency proof does not verify (or is malformed). */
  consistency: 'ERR_LOG_CONSISTENCY',
  /** A checkpoint or signed note is malformed. */
  checkpoint: 'ERR_LOG_CHECKPOINT',
  /** A checkpoint carries no valid signature by a trusted key, or a trusted key's signature fails. */
  checkpointSignature: 'ERR_LOG_CHECKPOINT_SIGNATURE',
  /** A verified checkpoint comes from another log than the one expected. */
  checkpointOrigin: 'ERR_LOG_CHECKPOINT_ORIGIN',
  /** A verifier key string is malformed or its key hash does not match. */
  verifierKey: 'ERR_LOG_VERIFIER_KEY',
  /** A proof was asked for an index or size outside the tree. */
  range: 'ERR_LOG_RANGE',
  /** The node store lacks a leaf hash that the tree size says exists. */
  nodeMissing: 'ERR_LOG_NODE_MISSING',
} as const;

const CATEGORY: Record<string, ErrorCategory> = {
  ERR_LOG_PROOF: 'rejected',
  ERR_LOG_CONSISTENCY: 'rejected',
  ERR_LOG_CHECKPOINT_SIGNATURE: 'rejected',
  ERR_LOG_CHECKPOINT_ORIGIN: 'rejected',
  ERR_LOG_NODE_MISSING: 'io',
};

/** A CustodyError with one of the log codes and its category. */
export function logError(code: (typeof LOG_ERROR_CODES)[keyof typeof LOG_ERROR_CODES], message: string, cause?: unknown): CustodyError {
  return new CustodyError(code, message, { category: CATEGORY[code] ?? 'input', cause });
}
