/**
 * Station mode (`devices provision --stdin`): the process stays up, reads one request a line and answers one
 * JSON line per device, so a line station pays the process start once. Requests that arrive together are
 * issued together (one journal flush for the group); each line still gets its own answer, and a bad line
 * fails alone.
 *
 * Request line: a CSR as base64 DER, or one-line PEM, or JSON `{"id": any, "csr": "<base64 DER or PEM>"}`.
 * Answer line: `{"id", "ok": true, "serial", "certSerial", "certificate": PEM, "birth": base64 DER | null}` or
 * `{"id", "ok": false, "error": {"code", "message"}}`.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { CustodyError } from '@custody/core/errors';
import { encodePEM, derOrPEM } from '@custody/core/x509';
import { issuePrepared, prepareProvisioning, type Prepared, type ProvisionOptions } from '@custody/core/provisioning';
import { toBase64 } from '@custody/core/util';
import { parseStrictJSON } from '@custody/core/util';
import type { Store } from '@custody/store/registry';
import { provider } from './context.js';
import { reportError } from './error-report.js';

const MAX_GROUP = 256;

interface Pending {
  id: unknown;
  line: number;
  text: string;
}

function requestBytes(text: string): { id: unknown; der: Uint8Array } {
  let id: unknown = null;
  let csr = text.trim();
  if (csr.startsWith('{')) {
    // Strict: a request naming "csr" twice would be one device to this station and another to a log reader.
    const v = parseStrictJSON(csr, { code: 'ERR_STATION_REQUEST', what: 'request line' }) as { id?: unknown; csr?: unknown };
    id = v.id ?? null;
    if (typeof v.csr !== 'string') throw new CustodyError('ERR_STATION_REQUEST', 'request has no "csr" string');
    csr = v.csr;
  }
  if (csr.startsWith('-----BEGIN')) csr = csr.replace(/(-----[A-Z ]+-----)/g, '\n$1\n');
  const bytes = csr.startsWith('\n-----BEGIN') || csr.startsWith('-----BEGIN') ? new TextEncoder().encode(csr) : Buffer.from(csr, 'base64');
  return { id, der: derOrPEM(new Uint8Array(bytes), ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']) };
}

/** Serves requests from `input` until it ends; returns the number of devices issued. */
export async function runStation(store: Store, optionsAt: (now: Date) => Promise<ProvisionOptions>, input: Readable, output: Writable): Promise<number> {
  const queue: Pending[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  let lineNo = 0;
  const rl = createInterface({ input, crlfDelay: Infinity });
  rl.on('line', (text) => {
    lineNo += 1;
    if (text.trim() === '') return;
    queue.push({ id: null, line: lineNo, text });
    wake?.();
  });
  rl.on('close', () => {
    ended = true;
    wake?.();
  });
  const write = (o: object) => output.write(JSON.stringify(o) + '\n');
  let issued = 0;
  for (;;) {
    if (queue.length === 0) {
      if (ended) break;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
      continue;
    }
    const group = queue.splice(0, MAX_GROUP);
    // Answers go out in request order, once the whole group is settled.
    const answers = new Map<Pending, object>();
    const answer = (p: Pending, o: object) => answers.set(p, { id: p.id, line: p.line, ...o });
    const accepted: Array<{ p: Pending; prepared: Prepared }> = [];
    const serials = new Set<string>();
    const keys = new Set<string>();
    for (const p of group) {
      try {
        const { id, der } = requestBytes(p.text);
        p.id = id;
        const [prepared] = await prepareProvisioning([{ source: `stdin line ${p.line}`, csr: der }], store, provider);
        if (serials.has(prepared!.serial))
          throw new CustodyError('ERR_DUPLICATE_SERIAL', `stdin line ${p.line}: device serial ${prepared!.serial} appears twice in this group`);
        if (keys.has(prepared!.spkiSha256))
          throw new CustodyError('ERR_DUPLICATE_KEY', `stdin line ${p.line}: the same public key appears twice in this group`);
        serials.add(prepared!.serial);
        keys.add(prepared!.spkiSha256);
        accepted.push({ p, prepared: prepared! });
      } catch (e) {
        const r = reportError(e);
        answer(p, { ok: false, error: { code: r.code, message: r.message } });
      }
    }
    try {
      const devices =
        accepted.length === 0
          ? []
          : await issuePrepared(
              accepted.map((a) => a.prepared),
              { ...(await optionsAt(new Date())), chunkSize: MAX_GROUP },
            );
      devices.forEach((d, i) => {
        answer(accepted[i]!.p, {
          ok: true,
          serial: d.serial,
          certSerial: d.certSerial,
          certificate: encodePEM(d.certificate, 'CERTIFICATE'),
          birth: d.attestations[0] ? toBase64(d.attestations[0]) : null,
        });
      });
      issued += devices.length;
    } catch (e) {
      const r = reportError(e);
      for (const { p } of accepted) answer(p, { ok: false, error: { code: r.code, message: r.message } });
    }
    for (const p of group) write(answers.get(p)!);
  }
  return issued;
}
