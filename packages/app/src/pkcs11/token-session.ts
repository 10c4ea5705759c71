/**
 * Opening a PKCS#11 module, finding the token a `pkcs11:` URI names and logging in to it: what a token-backed
 * key and key generation share.
 *
 * One module instance, one session and one login per token and process: C_Initialize may run once per module
 * and process, and every login with a wrong PIN counts towards the token's lockout, so custody logs in once and
 * never retries. pkcs11js is loaded only here and only when a `pkcs11:` key is used, so that the native addon
 * costs nothing to the commands that never see one.
 */
import { createRequire } from 'node:module';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { CustodyError, type ErrorCategory } from '@custody/core/errors';
import { parsePKCS11URI, type PKCS11URI } from '@custody/core/keys';
import type * as Pkcs11js from 'pkcs11js';

export type Pkcs11Module = typeof Pkcs11js;
export type Handle = Buffer;

/** Where a module, a PIN and a PIN file come from besides the URI. */
export interface TokenEnvironment {
  /** The environment: CUSTODY_PKCS11_MODULE, CUSTODY_PKCS11_PIN (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Reads a `pin-source=file:` file: the caller's bounded input reader (context.ts `readInputFile`), so a PIN
   * file gets the same checks as every input file.
   */
  readFile: (path: string) => Uint8Array;
  /** Accept `pin-value=` in the URI (tests, one-off tools); off for URIs from the store. */
  allowPinValue?: boolean;
}

/** A logged-in read-write session on the token a URI names. */
export interface TokenSession {
  readonly lib: Pkcs11js.PKCS11;
  readonly pkcs11: Pkcs11Module;
  readonly session: Handle;
  readonly slot: Handle;
  /** The token's label, for messages. */
  readonly label: string;
  readonly serial: string;
  /** CKF_HW_SLOT of the slot: the token sits in a hardware device, as the module reports it. */
  readonly hardwareSlot: boolean;
  readonly uri: PKCS11URI;
  readonly modulePath: string;
}

/** A one-line PKCS#11 failure. `ERR_PKCS11_DEVICE` (the token failed mid-operation) is an I/O failure, exit 5. */
export function pkcs11Error(code: string, message: string, cause?: unknown): CustodyError {
  const category: ErrorCategory | undefined = code === 'ERR_PKCS11_DEVICE' ? 'io' : undefined;
  return new CustodyError(code, message, { cause, ...(category ? { category } : {}) });
}

/** The CKR_ name of a pkcs11js error, for messages and decisions (`CKR_PIN_INCORRECT`). */
export function ckrName(e: unknown): string {
  const m = e instanceof Error ? /CKR_[A-Z0-9_]+/.exec(e.message) : null;
  return m ? m[0] : e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

let pkcs11js: Pkcs11Module | undefined;

function loadBinding(): Pkcs11Module {
  if (pkcs11js) return pkcs11js;
  try {
    pkcs11js = createRequire(import.meta.url)('pkcs11js') as Pkcs11Module;
  } catch (e) {
    throw pkcs11Error(
      'ERR_PKCS11_MODULE',
      `PKCS#11 support is not built here (the pkcs11js addon did not load: ${(e as Error).message.split('\n')[0]}); run npm ci with a C++ compiler present`,
      e,
    );
  }
  return pkcs11js;
}

/** The module a URI names: module-path (a file, or a folder holding module-name), else CUSTODY_PKCS11_MODULE. */
export function resolveModulePath(uri: PKCS11URI, env: Readonly<Record<string, string | undefined>>): string {
  const given = uri.modulePath ?? env.CUSTODY_PKCS11_MODULE;
  if (given === undefined || given === '') {
    throw pkcs11Error(
      'ERR_PKCS11_MODULE',
      'no PKCS#11 module: give module-path=... in the URI or set CUSTODY_PKCS11_MODULE (for SoftHSM: /usr/lib/softhsm/libsofthsm2.so)',
    );
  }
  let st;
  try {
    st = statSync(given);
  } catch (e) {
    throw pkcs11Error('ERR_PKCS11_MODULE', `${given}: no PKCS#11 module there (${(e as NodeJS.ErrnoException).code})`, e);
  }
  if (!st.isDirectory()) return given;
  // RFC 7512 2.3: module-path may name the folder in which module-name is looked up.
  if (uri.moduleName === undefined) throw pkcs11Error('ERR_PKCS11_MODULE', `${given}: a folder; give module-name=... too, or the module's file`);
  for (const file of [`${uri.moduleName}.so`, `lib${uri.moduleName}.so`]) {
    try {
      if (statSync(join(given, file)).isFile()) return join(given, file);
    } catch {
      // not this one
    }
  }
  throw pkcs11Error('ERR_PKCS11_MODULE', `${given}: holds no module named ${uri.moduleName} (${uri.moduleName}.so or lib${uri.moduleName}.so)`);
}

/** CK_SLOT_INFO flag (PKCS #11 v2.40 3.2), which pkcs11js does not export. */
const CKF_HW_SLOT = 0x4;

/** A CK_ULONG handle (a slot id) as a number. */
function handleNumber(h: Handle): number {
  return h.length === 8 ? Number(h.readBigUInt64LE(0)) : h.readUInt32LE(0);
}

const modules = new Map<string, Pkcs11js.PKCS11>();
let finalizeOnExit = false;
const sessions = new Map<string, TokenSession>();

function openModule(path: string): { lib: Pkcs11js.PKCS11; pkcs11: Pkcs11Module } {
  const pkcs11 = loadBinding();
  const open = modules.get(path);
  if (open) return { lib: open, pkcs11 };
  const lib = new pkcs11.PKCS11();
  try {
    lib.load(path);
  } catch (e) {
    throw pkcs11Error('ERR_PKCS11_MODULE', `${path}: not a PKCS#11 module (${ckrName(e)})`, e);
  }
  try {
    lib.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
  } catch (e) {
    // Another user of the module in this process (a second pkcs11js instance) initialised it already.
    if (ckrName(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      lib.close();
      throw pkcs11Error('ERR_PKCS11_MODULE', `${path}: the module failed to initialise (${ckrName(e)})`, e);
    }
  }
  modules.set(path, lib);
  // Finalise on the way out: a TPM without a resource manager in front of it (swtpm, some boards) keeps the
  // objects a process loaded until they are flushed, and C_Finalize is what makes tpm2-pkcs11 flush them; an
  // HSM frees the sessions it counts against its limit. A worker thread shares the module with the whole
  // process (C_Initialize is per process, and its module instance is the same one): its exit closes only its
  // own sessions, else the first worker to end would finalise the module under every other thread.
  if (!finalizeOnExit) {
    finalizeOnExit = true;
    process.once('exit', isMainThread ? closeTokenSessions : closeSessions);
  }
  return { lib, pkcs11 };
}

/** A blank-padded PKCS#11 text field without its padding (and the NULs some modules pad with instead). */
export function unpad(s: string): string {
  return s.replace(/[ \0]+$/, '');
}

interface SlotMatch {
  slot: Handle;
  label: string;
  serial: string;
  flags: number;
  slotFlags: number;
}

/** The one slot whose token matches every token and slot attribute of the URI. */
function findSlot(lib: Pkcs11js.PKCS11, uri: PKCS11URI, modulePath: string): SlotMatch {
  if (uri.libraryManufacturer !== undefined || uri.libraryDescription !== undefined || uri.libraryVersion !== undefined) {
    const info = lib.C_GetInfo();
    const mismatch =
      (uri.libraryManufacturer !== undefined && unpad(info.manufacturerID) !== uri.libraryManufacturer) ||
      (uri.libraryDescription !== undefined && unpad(info.libraryDescription) !== uri.libraryDescription) ||
      (uri.libraryVersion !== undefined && (info.libraryVersion.major !== uri.libraryVersion.major || info.libraryVersion.minor !== uri.libraryVersion.minor));
    if (mismatch)
      throw pkcs11Error(
        'ERR_PKCS11_MODULE',
        `${modulePath}: the module is not the library the URI names (library-manufacturer "${unpad(info.manufacturerID)}", library-description "${unpad(info.libraryDescription)}")`,
      );
  }
  const found: SlotMatch[] = [];
  const labels: string[] = [];
  for (const slot of lib.C_GetSlotList(true)) {
    const t = lib.C_GetTokenInfo(slot);
    const s = lib.C_GetSlotInfo(slot);
    const label = unpad(t.label);
    labels.push(JSON.stringify(label));
    const matches =
      (uri.token === undefined || label === uri.token) &&
      (uri.manufacturer === undefined || unpad(t.manufacturerID) === uri.manufacturer) &&
      (uri.model === undefined || unpad(t.model) === uri.model) &&
      (uri.serial === undefined || unpad(t.serialNumber) === uri.serial) &&
      (uri.slotDescription === undefined || unpad(s.slotDescription) === uri.slotDescription) &&
      (uri.slotManufacturer === undefined || unpad(s.manufacturerID) === uri.slotManufacturer) &&
      (uri.slotId === undefined || handleNumber(slot) === uri.slotId);
    if (matches) found.push({ slot, label, serial: unpad(t.serialNumber), flags: t.flags, slotFlags: s.flags });
  }
  const wanted = uri.token !== undefined ? `token "${uri.token}"` : 'a token';
  if (found.length === 0)
    throw pkcs11Error('ERR_PKCS11_TOKEN', `${modulePath}: no ${wanted} matching the URI (tokens present: ${labels.join(', ') || 'none'})`);
  if (found.length > 1)
    throw pkcs11Error(
      'ERR_PKCS11_TOKEN',
      `${modulePath}: ${found.length} tokens match the URI (${found.map((f) => `"${f.label}" serial ${f.serial}`).join(', ')}); add serial=... to choose one`,
    );
  return found[0]!;
}

/**
 * Refuses a PIN file that anyone but its owner may read or write, as ssh refuses such a private key file: a
 * PIN others can read is a PIN others hold, and one they can write lets them lock the token out. Refused, not
 * warned about: a warning on a factory line's stderr goes unread, and the fix is one chmod. A file that cannot
 * be stat'ed is left to the reader, which names the problem.
 * @throws ERR_PKCS11_PIN_FILE_MODE when group or others have any permission on the file
 */
export function checkPINFileMode(file: string): void {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return;
  }
  if ((mode & 0o077) !== 0)
    throw pkcs11Error(
      'ERR_PKCS11_PIN_FILE_MODE',
      `${file}: the PIN file is open to group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); custody refuses it: chmod 600 ${file}`,
    );
}

/** The PIN: pin-value (when allowed), else the pin-source file's first line, else CUSTODY_PKCS11_PIN. */
function readPIN(uri: PKCS11URI, o: TokenEnvironment, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (uri.pinValue !== undefined) return uri.pinValue;
  if (uri.pinFile !== undefined) {
    checkPINFileMode(uri.pinFile);
    const text = Buffer.from(o.readFile(uri.pinFile)).toString('utf8');
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line === '') throw pkcs11Error('ERR_PKCS11_PIN', `${uri.pinFile}: the PIN file is empty`);
    return line;
  }
  const pin = env.CUSTODY_PKCS11_PIN;
  return pin === undefined || pin === '' ? undefined : pin;
}

/**
 * The logged-in session on the token `uriText` names, opened on first use and kept for the process.
 * @throws ERR_PKCS11_URI (malformed URI), ERR_PKCS11_MODULE (no module given, missing, not loadable),
 *   ERR_PKCS11_TOKEN (no token or several match), ERR_PKCS11_PIN (no PIN, wrong PIN, PIN locked),
 *   ERR_PKCS11_PIN_FILE_MODE (a PIN file group or others may read or write),
 *   ERR_PKCS11_DEVICE (the token failed), and the PIN file reader's errors
 */
export function openTokenSession(uriText: string, o: TokenEnvironment): TokenSession {
  const uri = parsePKCS11URI(uriText, { allowPinValue: o.allowPinValue ?? false });
  const env = o.env ?? process.env;
  const modulePath = resolveModulePath(uri, env);
  const { lib, pkcs11 } = openModule(modulePath);
  let match: SlotMatch;
  try {
    match = findSlot(lib, uri, modulePath);
  } catch (e) {
    if (e instanceof CustodyError) throw e;
    throw pkcs11Error('ERR_PKCS11_DEVICE', `${modulePath}: listing the tokens failed (${ckrName(e)})`, e);
  }
  const key = `${modulePath}\0${match.slot.toString('hex')}`;
  const open = sessions.get(key);
  if (open) return { ...open, uri };
  const tokenName = `token "${match.label}"`;
  let session: Handle;
  try {
    session = lib.C_OpenSession(match.slot, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION);
  } catch (e) {
    throw pkcs11Error('ERR_PKCS11_DEVICE', `${tokenName}: cannot open a session (${ckrName(e)})`, e);
  }
  if (match.flags & pkcs11.CKF_LOGIN_REQUIRED) {
    // A token with a PIN pad takes the PIN there, not from us (CKF_PROTECTED_AUTHENTICATION_PATH).
    const pad = (match.flags & pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH) !== 0;
    const pin = pad ? undefined : readPIN(uri, o, env);
    if (!pad && pin === undefined) {
      lib.C_CloseSession(session);
      throw pkcs11Error('ERR_PKCS11_PIN', `${tokenName}: needs a PIN: give pin-source=file:... in the URI or set CUSTODY_PKCS11_PIN`);
    }
    try {
      lib.C_Login(session, pkcs11.CKU_USER, pin);
    } catch (e) {
      const ckr = ckrName(e);
      if (ckr !== 'CKR_USER_ALREADY_LOGGED_IN') {
        lib.C_CloseSession(session);
        if (ckr === 'CKR_PIN_INCORRECT' || ckr === 'CKR_PIN_LEN_RANGE')
          throw pkcs11Error('ERR_PKCS11_PIN', `${tokenName}: wrong PIN (${ckr}); each wrong PIN counts towards the token's lockout`, e);
        if (ckr === 'CKR_PIN_LOCKED' || ckr === 'CKR_PIN_EXPIRED')
          throw pkcs11Error('ERR_PKCS11_PIN', `${tokenName}: the PIN is locked or expired (${ckr}); the token's security officer must reset it`, e);
        throw pkcs11Error('ERR_PKCS11_DEVICE', `${tokenName}: login failed (${ckr})`, e);
      }
    }
  }
  const opened: TokenSession = {
    lib,
    pkcs11,
    session,
    slot: match.slot,
    label: match.label,
    serial: match.serial,
    hardwareSlot: (match.slotFlags & CKF_HW_SLOT) !== 0,
    uri,
    modulePath,
  };
  sessions.set(key, opened);
  return opened;
}

/** Closes the sessions this thread opened, leaving their modules initialised for the rest of the process. */
function closeSessions(): void {
  for (const s of sessions.values()) {
    try {
      s.lib.C_CloseSession(s.session);
    } catch {
      // a session the token already dropped
    }
  }
  sessions.clear();
}

/**
 * Logs out, closes every session and finalises every module this process opened: for tests that change
 * SOFTHSM2_CONF, and for a long-running process that lets a token go. Keys opened before are unusable after.
 */
export function closeTokenSessions(): void {
  closeSessions();
  for (const lib of modules.values()) {
    // Best effort, every module: one that fails to finalise must not keep the others open.
    try {
      lib.C_Finalize();
    } catch {
      // finalised already, or the module is broken; closing it is all that is left
    }
    try {
      lib.close();
    } catch {
      // unloaded already
    }
  }
  modules.clear();
}
