/**
 * Every failure custody reports carries a stable code. Codes are API: add new ones, never rename one.
 * The category decides the CLI exit code (DESIGN.md: 1 rejected, 2 usage, 3 bad input, 4 conflict, 5 store/I-O).
 */
export type ErrorCategory = 'rejected' | 'usage' | 'input' | 'conflict' | 'io';

const CATEGORY_BY_PREFIX: ReadonlyArray<[string, ErrorCategory]> = [
  ['ERR_USAGE', 'usage'],
  // Malformed workflow and policy files are bad input, not rejections: listed before ERR_POLICY.
  ['ERR_POLICY_INVALID', 'input'],
  ['ERR_WORKFLOW_INVALID', 'input'],
  // A release, withdrawal list or update state that does not parse is bad input; every other refusal of an
  // update (signer, image, model, expiry, rollback, withdrawal, an edited state) rejects it.
  ['ERR_RELEASE_MALFORMED', 'input'],
  ['ERR_WITHDRAWALS_MALFORMED', 'input'],
  ['ERR_UPDATE_STATE_MALFORMED', 'input'],
  ['ERR_RELEASE', 'rejected'],
  ['ERR_WITHDRAWALS', 'rejected'],
  ['ERR_UPDATE', 'rejected'],
  // A code policy file that does not parse, or names certificates the activation cannot find: bad input.
  ['ERR_CODE_POLICY', 'input'],
  // A device with no enrollment yet, or offered an older activation than the one it enrolled: its state conflicts.
  ['ERR_CODE_NOT_ENROLLED', 'conflict'],
  ['ERR_ENROLL_STALE', 'conflict'],
  ['ERR_AGENT_STATE', 'io'],
  // A code signature that does not parse is bad input; every other refusal of code is a rejection (code/).
  ['ERR_CODE_SIGNATURE_MALFORMED', 'input'],
  ['ERR_CODE_SIGNATURE', 'rejected'],
  ['ERR_CODE_SIGNER', 'rejected'],
  ['ERR_CODE_DIGEST', 'rejected'],
  ['ERR_LOG_PROOF', 'rejected'],
  ['ERR_LOG_CONSISTENCY', 'rejected'],
  ['ERR_LOG_CHECKPOINT_SIGNATURE', 'rejected'],
  ['ERR_LOG_CHECKPOINT_ORIGIN', 'rejected'],
  ['ERR_LOG_NODE_MISSING', 'io'],
  ['ERR_PKCS11_DEVICE', 'io'],
  // A monitor run that found forks, clones or late handoffs rejects the registry's state, as a verification would.
  ['ERR_MONITOR_FINDINGS', 'rejected'],
  ['ERR_VERIFY', 'rejected'],
  ['ERR_CHAIN', 'rejected'],
  ['ERR_POLICY', 'rejected'],
  ['ERR_WORKFLOW_REJECT', 'rejected'],
  ['ERR_REVOKED', 'rejected'],
  // Code no scope of the enrolled policy covers, and enrollments not taken from a verified activation.
  ['ERR_CODE_SCOPE', 'rejected'],
  ['ERR_ENROLL', 'rejected'],
  ['ERR_NOT_CUSTODIAN', 'conflict'],
  ['ERR_DUPLICATE', 'conflict'],
  ['ERR_FORK', 'conflict'],
  ['ERR_CONFLICT', 'conflict'],
  ['ERR_DEVICE_ACTIVATED', 'conflict'],
  ['ERR_DEVICE_UNKNOWN', 'conflict'],
  ['ERR_STORE', 'io'],
  ['ERR_IO', 'io'],
];

/** The exit code DESIGN.md assigns to each category. */
export const EXIT_CODES: Readonly<Record<ErrorCategory, number>> = {
  rejected: 1,
  usage: 2,
  input: 3,
  conflict: 4,
  io: 5,
};

/** Category of an error code: by prefix, bad input when no prefix matches. */
export function categoryOf(code: string): ErrorCategory {
  for (const [prefix, category] of CATEGORY_BY_PREFIX) if (code.startsWith(prefix)) return category;
  return 'input';
}

export interface CustodyErrorOptions {
  cause?: unknown;
  /** The file the failure is about, named in the one-line message. */
  file?: string;
  category?: ErrorCategory;
}

/** Base class of every error custody throws on purpose. */
export class CustodyError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;
  readonly file: string | undefined;

  constructor(code: string, message: string, options: CustodyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CustodyError';
    this.code = code;
    this.file = options.file;
    this.category = options.category ?? categoryOf(code);
  }

  /** The same error, now naming the file it came from (kept when it already names one). */
  withFile(file: string): CustodyError {
    if (this.file !== undefined) return this;
    const e = new CustodyError(this.code, `${file}: ${this.message}`, { cause: this.cause, file, category: this.category });
    return e;
  }
}

/** True when `e` is a CustodyError, optionally with the given code. */
export function isCustodyError(e: unknown, code?: string): e is CustodyError {
  return e instanceof CustodyError && (code === undefined || e.code === code);
}
