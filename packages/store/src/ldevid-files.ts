/**
 * The embedded store's LDevID records (the `LDevIDRegistry` port), under `ldevids/`:
 *
 *   keys/<spki sha-256 hex>    the serial of the device whose LDevID first certified that key (created exclusively:
 *                              the file system decides which of two devices claims a key)
 *   certs/<cert serial hex>    the device an LDevID certificate serial was recorded for (created exclusively)
 *   records.jsonl              one JSON line per LDevID issued, appended and flushed (read by audits only)
 *
 * A claim is one exclusive create and a record one appended line: nothing rescans the store. Writes happen under
 * the store's writer lock. An activation's LDevID is claimed before the activation's journal append and its line
 * appended after it; a refused or failed activation gives the claim back. A crash between the claim and the record
 * leaves the key claimed by the device that asked for it, so a retry by that device goes on and no other device
 * gets the key.
 */
import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CustodyError } from '@custody/core/errors';
import type { LDevIDRecord } from '@custody/core/ports';
import type { AppendClaim, ClaimRefusal } from './append-claims.js';

const HEX64 = /^[0-9a-f]{64}$/;
const CERT_SERIAL = /^[0-9a-f]{1,64}$/;

/** The value of a claim file, or undefined when there is none. */
function readClaim(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(file, e);
  }
}

function ioError(file: string, e: unknown): CustodyError {
  return new CustodyError('ERR_STORE_IO', `${file}: cannot record the LDevID (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { file, cause: e });
}

/** Creates `file` holding `value`, flushed; false when it exists already. */
function claim(file: string, value: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError(file, e);
  }
  try {
    writeSync(fd, `${value}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Removes a claim file given back. */
function removeClaim(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    throw ioError(file, e);
  }
}

/**
 * The LDevIDs an embedded store's append records with their activations (see append-claims.ts): claimed before
 * the write, given back when the item is refused or the write fails, their record line appended once written.
 */
export function ldevidClaim(files: LDevIDFiles): AppendClaim {
  return {
    take: (item) => (item.ldevid === undefined ? undefined : files.claim(item.ldevid)),
    giveBack: (item) => {
      if (item.ldevid !== undefined) files.release(item.ldevid);
    },
    written: (item) => {
      if (item.ldevid !== undefined) files.append(item.ldevid);
    },
  };
}

/** The LDevIDs one embedded store issued (see the top of this file). */
export class LDevIDFiles {
  /** Key files this process's claims created and have not yet completed or given back. */
  private readonly fresh = new Set<string>();

  constructor(private readonly dir: string) {}

  private keyFile(spkiSha256: string): string {
    const hex = spkiSha256.toLowerCase();
    if (!HEX64.test(hex)) throw new TypeError(`not a SHA-256 in hex: ${JSON.stringify(spkiSha256.slice(0, 80))}`);
    return join(this.dir, 'keys', hex);
  }

  /** The device whose LDevID certifies this key. */
  holder(spkiSha256: string): string | undefined {
    return readClaim(this.keyFile(spkiSha256));
  }

  /**
   * Records `r`; call with the store's writer lock held.
   * @throws ERR_DUPLICATE_KEY, ERR_DUPLICATE_CERT_SERIAL, ERR_STORE_IO
   */
  record(r: LDevIDRecord): void {
    const refusal = this.claim(r);
    if (refusal) throw new CustodyError(refusal.code, refusal.message);
    this.append(r);
  }

  /**
   * Claims `r`'s certificate serial and key for its device (call with the store's writer lock held): the refusal
   * when either is taken, having claimed nothing; else undefined, and `append` or `release` is to follow.
   * @throws ERR_STORE_IO
   */
  claim(r: LDevIDRecord): ClaimRefusal | undefined {
    const { keyFile, certFile, certSerial } = this.files(r);
    try {
      mkdirSync(join(this.dir, 'keys'), { recursive: true });
      mkdirSync(join(this.dir, 'certs'), { recursive: true });
    } catch (e) {
      throw ioError(this.dir, e);
    }
    if (!claim(certFile, r.serial))
      return { code: 'ERR_DUPLICATE_CERT_SERIAL', message: `${this.dir}: LDevID certificate serial ${certSerial} was recorded before` };
    if (claim(keyFile, r.serial)) this.fresh.add(keyFile);
    else {
      const holder = readClaim(keyFile);
      if (holder !== r.serial) {
        removeClaim(certFile);
        return {
          code: 'ERR_DUPLICATE_KEY',
          message: `${this.dir}: the LDevID key ${r.spkiSha256.slice(0, 16)}... is certified for device ${holder}, not ${r.serial}`,
        };
      }
    }
    return undefined;
  }

  /** Gives back what `claim(r)` claimed: its certificate serial, and its key unless the device held it before. */
  release(r: LDevIDRecord): void {
    const { keyFile, certFile } = this.files(r);
    removeClaim(certFile);
    if (this.fresh.delete(keyFile)) removeClaim(keyFile);
  }

  /** Completes `claim(r)`: appends its record line, flushed. */
  append(r: LDevIDRecord): void {
    const { keyFile, certSerial } = this.files(r);
    this.fresh.delete(keyFile);
    const file = join(this.dir, 'records.jsonl');
    try {
      appendFileSync(file, `${JSON.stringify({ ...r, certSerial, spkiSha256: r.spkiSha256.toLowerCase() })}\n`);
      const fd = openSync(file, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      throw ioError(file, e);
    }
  }

  /** The claim files of `r`. */
  private files(r: LDevIDRecord): { keyFile: string; certFile: string; certSerial: string } {
    const certSerial = r.certSerial.toLowerCase();
    if (!CERT_SERIAL.test(certSerial)) throw new TypeError(`not a certificate serial in hex: ${JSON.stringify(r.certSerial.slice(0, 80))}`);
    return { keyFile: this.keyFile(r.spkiSha256), certFile: join(this.dir, 'certs', certSerial), certSerial };
  }

  /**
   * The LDevIDs of `serial`, oldest first (reads every record: an audit, not a hot path).
   * @throws ERR_STORE_CORRUPT naming the line, ERR_STORE_IO
   */
  list(serial: string): LDevIDRecord[] {
    const file = join(this.dir, 'records.jsonl');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError(file, e);
    }
    const out: LDevIDRecord[] = [];
    const lines = text.split('\n');
    for (const [i, line] of lines.entries()) {
      if (line === '') continue;
      let r: LDevIDRecord;
      try {
        r = JSON.parse(line) as LDevIDRecord;
      } catch {
        // A line cut short by a crash mid-append is the last one; anything else is damage.
        if (i === lines.length - 1) continue;
        throw new CustodyError('ERR_STORE_CORRUPT', `${file}: line ${i + 1} is not an LDevID record`, { file });
      }
      if (r.serial === serial) out.push({ certSerial: r.certSerial, serial: r.serial, spkiSha256: r.spkiSha256, ca: r.ca, issuedAt: r.issuedAt });
    }
    return out;
  }
}
