/** PEM armour (RFC 7468): strict, so that a truncated or corrupted file is named as such. */
import { CustodyError } from '../errors.js';
import { fromBase64, toBase64 } from '../util/bytes.js';

/** One PEM block around `der`, 64 characters a line. */
export function encodePEM(der: Uint8Array, label: string): string {
  const b64 = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/** Every block in `text` with one of `labels`, in order; throws ERR_PEM when there is none or one is damaged. */
export function decodePEMAll(text: string, labels: readonly string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let sawBegin = false;
  for (const m of text.matchAll(BLOCK)) {
    sawBegin = true;
    const [, begin, body, end] = m;
    if (begin !== end) throw new CustodyError('ERR_PEM', `PEM block BEGIN ${begin} ends with END ${end}`);
    if (!labels.includes(begin!)) continue;
    const b64 = body!.replace(/\r?\n/g, '');
    const der = fromBase64(b64);
    if (!der || der.length === 0) throw new CustodyError('ERR_PEM', `PEM block ${begin} has invalid base64`);
    out.push(der);
  }
  if (out.length === 0) {
    const truncated = !sawBegin && /-----BEGIN /.test(text);
    throw new CustodyError('ERR_PEM', truncated ? 'PEM is truncated (no END line)' : `no ${labels.join(' or ')} PEM block found`);
  }
  return out;
}

/** Exactly one block with one of `labels`. */
export function decodePEM(text: string, labels: readonly string[]): Uint8Array {
  const all = decodePEMAll(text, labels);
  if (all.length !== 1) throw new CustodyError('ERR_PEM', `expected one ${labels[0]} PEM block, found ${all.length}`);
  return all[0]!;
}

/** DER as is, or the first matching PEM block when the bytes look like PEM text. */
export function derOrPEM(bytes: Uint8Array, labels: readonly string[]): Uint8Array {
  if (bytes.length > 0 && bytes[0] === 0x30) return bytes;
  const text = new TextDecoder().decode(bytes);
  return decodePEM(text, labels);
}
