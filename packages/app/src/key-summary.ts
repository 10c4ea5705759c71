/**
 * What `ca list` and `parties list` say of a private key: where it lives and how it is protected, from the store's
 * key reference. A token key shows what the token reported when custody recorded it (its CKA_* attributes), a key
 * file whether it is encrypted.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KeyRef, TokenKeyProtection } from '@custody/core/ports';
import type { Store } from '@custody/store/registry';
import { isNeverExtractable } from './pkcs11/token-key.js';

/** A key file: its path as recorded (relative to the store's key folder), and whether it is encrypted. */
export interface FileKeySummary {
  storage: 'file';
  file: string;
  /** Absent when neither the record nor the file (unreadable here) says. */
  encrypted?: boolean;
}

/** A key in a PKCS#11 token: its URI, and the token's own account of it when the record holds one. */
export interface TokenKeySummary {
  storage: 'pkcs11';
  uri: string;
  /** The slot is a hardware device, as the module reports it (CKF_HW_SLOT); absent when not recorded. */
  hardware?: boolean;
  /** A local token object that is not, and never was, extractable, and always sensitive; absent when not recorded. */
  neverExtractable?: boolean;
  /** The attributes as the token reported them; absent for a record made before custody recorded them. */
  protection?: TokenKeyProtection;
}

export type KeySummary = FileKeySummary | TokenKeySummary;

/** The PEM label at the start of a key file: "ENCRYPTED PRIVATE KEY" or "PRIVATE KEY", undefined when unreadable. */
function fileEncrypted(path: string): boolean | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(40);
    const n = readSync(fd, head, 0, head.length, 0);
    const text = head.subarray(0, n).toString('latin1');
    if (text.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')) return true;
    if (text.startsWith('-----BEGIN PRIVATE KEY-----')) return false;
    return undefined;
  } catch {
    // a PostgreSQL store listed without its key folder, or a key file moved away: say nothing rather than guess
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function keyDirOf(store: Store): string | undefined {
  try {
    return store.keyDir;
  } catch {
    return undefined;
  }
}

/** What a listing shows of the key `ref` refers to (no PIN, no key material: the reference and its protection). */
export function keySummary(store: Store, ref: KeyRef): KeySummary {
  if (ref.type === 'file') {
    const dir = keyDirOf(store);
    // Older records do not say; the file's own PEM label does.
    const encrypted = ref.encrypted ?? (dir === undefined ? undefined : fileEncrypted(resolve(dir, ref.path)));
    return { storage: 'file', file: ref.path, ...(encrypted === undefined ? {} : { encrypted }) };
  }
  const p = ref.protection;
  if (!p) return { storage: 'pkcs11', uri: ref.uri };
  return { storage: 'pkcs11', uri: ref.uri, hardware: p.hardwareSlot, neverExtractable: isNeverExtractable(p), protection: { ...p } };
}
