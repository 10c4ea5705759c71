/**
 * Input files: every file a user (or a hostile party) names is a regular file of bounded size, opened once and
 * read to its bound only. Apart from context.ts so that a verifying thread reads its bundles without loading the
 * store, keys and templates (this module needs node:fs and two limits only).
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { CustodyError } from '@custody/core/errors';
import { BUNDLE_LIMITS } from '@custody/core/bundle';
import { YAML_LIMITS } from '@custody/core/limits';

const MiB = 1024 * 1024;
const KiB = 1024;

/**
 * The most bytes custody reads of each kind of input file, and what the kind is called in messages. A file over
 * its bound is refused before a byte of it is read (`ERR_INPUT_TOO_LARGE`). The bounds are generous for real
 * inputs and small enough that a hostile file cannot take the machine's memory.
 */
export const INPUT_LIMITS = {
  /** A bundle (`devices verify --bundle`, `devices import`, `monitor --bundle`): what the bundle parser accepts. */
  bundle: { what: 'bundle', maxBytes: BUNDLE_LIMITS.maxTextLength },
  /** Certificates and trust anchors, PEM or DER (`--trust`, `--ca`, `--cert`, `--to`, `certs inspect`): a PEM file may hold many. */
  certificate: { what: 'certificate file', maxBytes: 4 * MiB },
  /** A CRL, DER or PEM (`--crl`): large CAs publish CRLs of tens of megabytes. */
  crl: { what: 'CRL', maxBytes: 64 * MiB },
  /** A certificate signing request (`devices provision --csr`, `devices activate --ldevid-csr`). */
  csr: { what: 'certificate request', maxBytes: 64 * KiB },
  /** A policy file (`--policy FILE`). */
  policy: { what: 'policy file', maxBytes: YAML_LIMITS.maxLength },
  /** A workflow file (`--workflow`). */
  workflow: { what: 'workflow file', maxBytes: YAML_LIMITS.maxLength },
  /** A certificate template (`--template FILE.yaml`, the templates folder). */
  template: { what: 'template', maxBytes: YAML_LIMITS.maxLength },
  /** A claims file, JSON or YAML (`--claims`). */
  claims: { what: 'claims file', maxBytes: 256 * KiB },
  /** A challenge or a challenge response (`agent respond --challenge`, `devices verify --response`). */
  challenge: { what: 'challenge or response', maxBytes: 64 * KiB },
  /** A PKCS#11 token PIN (`pin-source=file:` in a `pkcs11:` key URI): its first line. */
  pin: { what: 'PIN file', maxBytes: 4 * KiB },
  /** A private key file, PEM PKCS#8 (`agent respond --key`). */
  key: { what: 'key file', maxBytes: 64 * KiB },
  /** A transparency log's verifier key (`--log-key FILE`). */
  logKey: { what: 'log key file', maxBytes: 4 * KiB },
  /** A consistency proof from `log consistency --json` (`--log-consistency`). */
  consistencyProof: { what: 'consistency proof', maxBytes: 256 * KiB },
  /** A passphrase file, its first line the passphrase (`--passphrase-file`). */
  passphrase: { what: 'passphrase file', maxBytes: 4 * KiB },
  /** A release manifest (`agent update --manifest`): what the manifest parser accepts. */
  release: { what: 'release manifest', maxBytes: 64 * KiB },
  /** A withdrawal list (`agent update --withdrawals`). */
  withdrawals: { what: 'withdrawal list', maxBytes: 2 * MiB },
  /** A device's update state (`agent update --state`). */
  updateState: { what: 'update state', maxBytes: 128 * KiB },
  /** A file to sign or check as end-user code (`code sign --file`). */
  code: { what: 'code file', maxBytes: 256 * MiB },
  /** A detached code signature (`agent check-code --sig`). */
  codeSignature: { what: 'code signature', maxBytes: 64 * KiB },
  /** A release manifest or a withdrawal list, told apart by content (`--releases DIR`): a list's bound. */
  releaseDocument: { what: 'release manifest or withdrawal list', maxBytes: 2 * MiB },
  /** A firmware image (`firmware export --image`). */
  firmwareImage: { what: 'firmware image', maxBytes: 256 * MiB },
  /** TUF metadata of an earlier publication (`firmware export --format tuf` into the same folder). */
  tufMetadata: { what: 'TUF metadata file', maxBytes: 16 * MiB },
  /** A code policy file (`devices activate --code-policy`). */
  codePolicy: { what: 'code policy file', maxBytes: YAML_LIMITS.maxLength },
  /** The device agent's enrollment state (`agent enroll`, `agent check-code`): a policy and a few certificates. */
  enrollment: { what: 'enrollment state', maxBytes: 256 * KiB },
  /** A list of device serials, one a line (`devices handoff --list`). */
  list: { what: 'list file', maxBytes: 64 * MiB },
} as const satisfies Record<string, { what: string; maxBytes: number }>;

/** A kind of input file: a key of `INPUT_LIMITS`. */
export type InputKind = keyof typeof INPUT_LIMITS;

/** What a file that is not a regular file is, for a message. */
function fileType(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function notFile(file: string, what: string): CustodyError {
  return new CustodyError('ERR_INPUT_NOT_FILE', `${file}: is ${what}, not a regular file`, { file });
}

/** `size` undefined: the file grew past the bound while it was read. */
function tooLarge(file: string, size: number | undefined, kind: InputKind): CustodyError {
  const { what, maxBytes } = INPUT_LIMITS[kind];
  const found = size === undefined ? 'grew while read to' : `is ${size} bytes,`;
  return new CustodyError('ERR_INPUT_TOO_LARGE', `${file}: ${found} more than the ${maxBytes} bytes a ${what} may have`, { file });
}

/** An input file that cannot be read (missing, no permission, an I/O error), naming it. */
export function inputReadError(file: string, e: unknown): CustodyError {
  return new CustodyError('ERR_INPUT_READ', `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file, cause: e });
}

/**
 * Opens an input file the user named, and checks on the descriptor that it is a regular file: what
 * `readInputFile` and the image hasher (`image-file.ts`) both read through. The caller closes the descriptor.
 *
 * The path is stat'ed first only to refuse a FIFO, socket or device without opening it (opening one can block
 * or act: rewind a tape, arm a watchdog). The descriptor is what counts: it is opened non-blocking and without
 * taking a controlling terminal, and its fstat decides (a file swapped in after the stat is caught there).
 * @throws ERR_INPUT_NOT_FILE for a directory, FIFO, socket or device; ERR_INPUT_READ when it cannot be opened
 */
export function openInputFile(file: string): { fd: number; size: number } {
  let fd: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw notFile(file, fileType(st));
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    if (e instanceof CustodyError) throw e;
    // open(2) says ENXIO for a socket and for a device without a driver.
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') throw notFile(file, 'a socket or a device');
    throw inputReadError(file, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notFile(file, fileType(st));
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    if (e instanceof CustodyError) throw e;
    throw inputReadError(file, e);
  }
}

/**
 * The bytes of an input file the user named: a regular file of at most `INPUT_LIMITS[kind].maxBytes` bytes,
 * opened once (`openInputFile`) and read to the bound only.
 * The read stops one byte past the bound, so a file that grows while it is read is refused too.
 * @throws ERR_INPUT_NOT_FILE for a directory, FIFO, socket or device; ERR_INPUT_TOO_LARGE over the bound;
 *   ERR_INPUT_READ when it cannot be read (missing, no permission); each naming the file (bad input, exit 3)
 */
export function readInputFile(file: string, kind: InputKind): Buffer {
  const { maxBytes } = INPUT_LIMITS[kind];
  const { fd, size } = openInputFile(file);
  try {
    if (size > maxBytes) throw tooLarge(file, size, kind);
    // Room for the size fstat gave plus one byte (to see the end), grown up to the bound plus one byte when the
    // file grows meanwhile or reports no size (as /proc files do).
    let buf = Buffer.allocUnsafe(size + 1);
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > maxBytes) throw tooLarge(file, undefined, kind);
        const bigger = Buffer.allocUnsafe(Math.min(Math.max(buf.length * 2, 64 * KiB), maxBytes + 1));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const want = buf.length - length;
      const n = readSync(fd, buf, length, want, null);
      if (n === 0) break;
      length += n;
      // All of the size fstat gave, and not the one byte more asked for: a short read of a regular file is its
      // end (POSIX read(2)), so the read that would return 0 is not needed. One fstat and one read per input.
      if (n < want && length === size) break;
    }
    return buf.subarray(0, length);
  } catch (e) {
    if (e instanceof CustodyError) throw e;
    throw inputReadError(file, e);
  } finally {
    closeSync(fd);
  }
}
