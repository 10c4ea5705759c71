/** `devices handoff` and `devices activate`: extend chains, each device on its own. */
import { readFileSync } from 'node:fs';
import { CustodyError, signTransfer, type AttestationAppend, type Claims } from '@custody/core';
import type { Store } from '@custody/store';
import { provider, readInputFile } from './context.js';
import { loadSigner, resolveRecipient } from './parties.js';

export interface DeviceSelection {
  serials?: string[];
  lot?: string;
  /** A file with one serial a line (# comments and blank lines ignored). */
  list?: string;
}

/**
 * The serials a selection names, in order, without repeats.
 * @throws ERR_USAGE_SELECTION when it names none; ERR_INPUT_READ for an unreadable list
 */
export async function selectDevices(store: Store, sel: DeviceSelection): Promise<string[]> {
  const out: string[] = [...(sel.serials ?? [])];
  if (sel.lot !== undefined) {
    const lot = await store.listLot(sel.lot);
    if (lot.length === 0) throw new CustodyError('ERR_USAGE_SELECTION', `lot "${sel.lot}" has no devices in ${store.location}`);
    out.push(...lot);
  }
  if (sel.list !== undefined) {
    const text = readInputFile(sel.list).toString('utf8');
    out.push(...text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim()).filter(Boolean));
  }
  if (out.length === 0) throw new CustodyError('ERR_USAGE_SELECTION', 'name the devices: --serial, --lot or --list');
  return [...new Set(out)];
}

export interface TransferOptions {
  kind: 'handoff' | 'activation';
  serials: string[];
  party?: string;
  /** Next custodian (certificate file or party name); an activation names the activating party itself. */
  to?: string;
  claims?: Claims;
  stage?: string;
  passphrase: string | undefined;
  now: Date;
}

export interface TransferResult {
  party: string;
  to: string;
  results: Array<{ serial: string; ok: boolean; seq?: number; code?: string; message?: string }>;
}

/** Signs and records one attestation per device; a device that fails does not stop the others. */
export async function transferDevices(store: Store, o: TransferOptions): Promise<TransferResult> {
  const { party, signer } = await loadSigner(store, o.party, o.passphrase);
  const recipient = o.kind === 'activation' ? { spkiSha256: signer.spkiSha256, label: party.name } : await resolveRecipient(store, o.to ?? '');
  const results: TransferResult['results'] = [];
  const appends: AttestationAppend[] = [];
  const seqs = new Map<string, number>();
  for (const serial of o.serials) {
    const device = await store.getDevice(serial);
    if (!device) {
      results.push({ serial, ok: false, code: 'ERR_DEVICE_UNKNOWN', message: `device ${serial} is not in ${store.location}` });
      continue;
    }
    try {
      const { der, prev } = await signTransfer({ device, kind: o.kind, signer, to: recipient.spkiSha256, claims: o.claims, stage: o.stage, now: o.now, provider });
      appends.push({ serial, prev, attestation: der });
      seqs.set(serial, device.attestations.length);
      results.push({ serial, ok: true });
    } catch (e) {
      if (!(e instanceof CustodyError)) throw e;
      results.push({ serial, ok: false, code: e.code, message: e.message });
    }
  }
  const stored = new Map((await store.appendAttestations(appends)).map((r) => [r.serial, r]));
  for (const r of results) {
    const s = stored.get(r.serial);
    if (!r.ok || !s) continue;
    if (s.ok) r.seq = seqs.get(r.serial)!;
    else Object.assign(r, { ok: false, code: s.code, message: s.message });
  }
  return { party: party.name, to: recipient.label, results };
}

/** Throws for a transfer that failed: the only device's error, or a summary naming the failed count. */
export function failureOf(r: TransferResult): CustodyError | undefined {
  const failed = r.results.filter((x) => !x.ok);
  if (failed.length === 0) return undefined;
  if (r.results.length === 1) return new CustodyError(failed[0]!.code!, failed[0]!.message!);
  const codes = [...new Set(failed.map((f) => f.code))];
  const code = codes.length === 1 ? codes[0]! : 'ERR_CONFLICT_BATCH';
  return new CustodyError(code, `${failed.length} of ${r.results.length} devices failed (${failed.slice(0, 3).map((f) => `${f.serial}: ${f.code}`).join(', ')}${failed.length > 3 ? ', ...' : ''})`);
}
