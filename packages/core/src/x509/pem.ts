/**
 * PEM armour (RFC 7468), the one PEM reader of custody: certificates, CSRs, CRLs, trust anchors, party files.
 *
 * One pass over the lines, so that any input costs linear time. Text outside blocks is explanatory text
 * (RFC 7468 2) and is ignored. Inside a block:
 * - only base64 lines are allowed: no headers, no empty or blank lines (RFC 7468 strict form; an empty line inside
 *   a block is where two files were pasted together or a block was edited by hand, so it is named, not skipped);
 * - trailing spaces and tabs and a CR before the LF are ignored on every line (RFC 7468 3: `eol` and WSP);
 * - a BEGIN line before the END line is an error, as is an END label other than the BEGIN label;
 * - the base64 must be canonical (the padding bits zero, `=` only at the end), and the block non-empty.
 * Blocks with other labels are skipped unread, except that they must be closed.
 * Every error is ERR_PEM, names the line, and quotes at most `QUOTE_MAX` characters of it.
 */
import { CustodyError } from '../errors.js';
import { fromBase64, toBase64 } from '../util/bytes.js';

/** Most characters of an offending line an error message quotes. */
export const QUOTE_MAX = 40;
const MAX_LABEL = 64;

/** One PEM block around `der`, 64 characters a line. */
export function encodePEM(der: Uint8Array, label: string): string {
  const b64 = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function quote(s: string): string {
  return s.length > QUOTE_MAX ? `${JSON.stringify(s.slice(0, QUOTE_MAX))}...` : JSON.stringify(s);
}

function pemError(line: number, what: string): CustodyError {
  return new CustodyError('ERR_PEM', `PEM line ${line}: ${what}`);
}

/** RFC 7468 label: printable ASCII but `-`, single spaces between words. */
function boundaryLabel(line: string, kind: 'BEGIN' | 'END', n: number): string {
  const head = `-----${kind} `;
  if (!line.endsWith('-----') || line.length < head.length + 5) throw pemError(n, `malformed ${kind} line ${quote(line)}`);
  const label = line.slice(head.length, -5);
  if (label.length === 0 || label.length > MAX_LABEL || !/^[\x21-\x2c\x2e-\x7e]+( [\x21-\x2c\x2e-\x7e]+)*$/.test(label)) {
    throw pemError(n, `malformed ${kind} line ${quote(line)}`);
  }
  return label;
}

const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Index just past the last non-WSP character before `end`. */
function trimEnd(text: string, start: number, end: number): number {
  while (end > start) {
    const c = text.charCodeAt(end - 1);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) break;
    end--;
  }
  return end;
}

/**
 * Every block labelled with one of `labels` in `text`, in order; none is an empty list.
 * @throws CustodyError ERR_PEM on a malformed boundary, a block left open, a BEGIN inside a block, mismatched
 *   labels, or a line in a wanted block that is empty or not base64, or base64 that is not canonical
 */
export function readPEMBlocks(text: string, labels: readonly string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let open: string | undefined;
  let openLine = 0;
  let wanted = false;
  let body: string[] = [];
  let n = 0;
  let p = 0;
  while (p < text.length) {
    n++;
    let eol = text.indexOf('\n', p);
    if (eol < 0) eol = text.length;
    const line = text.slice(p, trimEnd(text, p, eol));
    p = eol + 1;
    if (line.startsWith('-----BEGIN')) {
      if (open !== undefined) throw pemError(n, `BEGIN line inside the ${open} block opened on line ${openLine}`);
      open = boundaryLabel(line, 'BEGIN', n);
      openLine = n;
      wanted = labels.includes(open);
      body = [];
    } else if (line.startsWith('-----END')) {
      const label = boundaryLabel(line, 'END', n);
      if (open === undefined) throw pemError(n, `END ${label} without a BEGIN line`);
      if (label !== open) throw pemError(n, `BEGIN ${open} (line ${openLine}) closed by END ${label}`);
      if (wanted) {
        const der = fromBase64(body.join(''));
        if (!der || der.length === 0) throw pemError(n, `the ${open} block opened on line ${openLine} is not canonical base64`);
        out.push(der);
      }
      open = undefined;
    } else if (open !== undefined && wanted) {
      if (line.length === 0) throw pemError(n, `empty line inside the ${open} block`);
      if (!BASE64_LINE.test(line)) throw pemError(n, `not base64: ${quote(line)}`);
      body.push(line);
    }
  }
  if (open !== undefined) throw pemError(openLine, `the ${open} block has no END line (truncated?)`);
  return out;
}

/**
 * The DER blocks labelled `label` (e.g. `CERTIFICATE`, `X509 CRL`) in `text`, in order; none is an empty list.
 * @throws CustodyError ERR_PEM as `readPEMBlocks` does
 */
export function parsePEM(text: string, label: string): Uint8Array[] {
  return readPEMBlocks(text, [label]);
}

/**
 * Every block in `text` with one of `labels`, in order.
 * @throws CustodyError ERR_PEM when there is none or one is damaged
 */
export function decodePEMAll(text: string, labels: readonly string[]): Uint8Array[] {
  const out = readPEMBlocks(text, labels);
  if (out.length === 0) throw new CustodyError('ERR_PEM', `no ${labels.join(' or ')} PEM block found`);
  return out;
}

/**
 * Exactly one block with one of `labels`.
 * @throws CustodyError ERR_PEM when there is none, more than one, or one is damaged
 */
export function decodePEM(text: string, labels: readonly string[]): Uint8Array {
  const all = decodePEMAll(text, labels);
  if (all.length !== 1) throw new CustodyError('ERR_PEM', `expected one ${labels[0]} PEM block, found ${all.length}`);
  return all[0]!;
}

/**
 * DER as is (bytes that open with a SEQUENCE tag), else exactly one PEM block with one of `labels`.
 * @throws CustodyError ERR_PEM as `decodePEM` does
 */
export function derOrPEM(bytes: Uint8Array, labels: readonly string[]): Uint8Array {
  if (bytes.length > 0 && bytes[0] === 0x30) return bytes;
  const text = new TextDecoder().decode(bytes);
  return decodePEM(text, labels);
}
