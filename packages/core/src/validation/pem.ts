/**
 * PEM bundles (RFC 7468 strict form): `-----BEGIN LABEL-----`, base64 lines, `-----END LABEL-----`.
 * Text between blocks is ignored (RFC 7468 explanatory text); inside a block only non-empty base64 lines are allowed,
 * and the base64 must be canonical.
 */
import { CustodyError } from '../errors.js';
import { fromBase64 } from '../util/bytes.js';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/**
 * The DER blocks labelled `label` (e.g. `CERTIFICATE`, `X509 CRL`) in `text`, in order. Blocks with other labels
 * are skipped.
 * @throws CustodyError ERR_PEM on a mismatched END label, an empty line, a stray character or non-canonical base64 in
 *   a block.
 */
export function parsePEM(text: string, label: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin, body, end] = m as unknown as [string, string, string, string];
    if (begin !== end) throw new CustodyError('ERR_PEM', `PEM: BEGIN ${begin} closed by END ${end}`);
    if (begin !== label) continue;
    const lines = body.split(/\r?\n/);
    if (lines[lines.length - 1] !== '') throw new CustodyError('ERR_PEM', `PEM ${label}: END line must start a line`);
    const body64 = lines.slice(0, -1);
    if (body64.some((l) => l.length === 0)) throw new CustodyError('ERR_PEM', `PEM ${label}: empty line inside the block`);
    const b64 = body64.join('');
    const der = /^[A-Za-z0-9+/=]*$/.test(b64) ? fromBase64(b64) : undefined;
    if (!der || der.length === 0) throw new CustodyError('ERR_PEM', `PEM ${label}: invalid base64`);
    out.push(der);
  }
  return out;
}
