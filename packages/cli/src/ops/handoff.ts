/** `devices handoff` and `devices activate`: extend chains, each device on its own. */
import { readFileSync } from 'node:fs';
import { createTransfer, CustodyError, type AttestationAppend, type ChainTip, type Claims, type TransferTemplate } from '@custody/core';
import { signOutcomes, type TransferOutcome } from './transfer-outcome.js';
import { nodeKeyObject } from '@custody/core/node';
import { poolThreads, WorkerPool } from './worker-pool.js';
import type { Store } from '@custody/store';
import { readInputFile } from './context.js';
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


/** What every signing worker starts with (the key travels as a KeyObject, never as bytes). */
export interface TransferSetup {
  certificate: Uint8Array;
  template: { kind: TransferTemplate['kind']; to: string; claims?: Claims; stage?: string; now: number };
}

/** A chunk out on a worker: its tips, and its outcomes once they are back. */
interface InFlight {
  tips: Array<ChainTip | undefined>;
  out?: TransferOutcome[];
  answer: Promise<void>;
}

/** Devices per chunk of a pipelined batch: each chunk is one store read, one signing request, one commit. */
const CHUNK = 1024;

/**
 * Signs and records one attestation per device; a device that fails does not stop the others. A large batch
 * signs on worker threads (transfer-worker.ts) while this thread reads and writes the store.
 */
export async function transferDevices(store: Store, o: TransferOptions): Promise<TransferResult> {
  const { party, signer } = await loadSigner(store, o.party, o.passphrase);
  const recipient = o.kind === 'activation' ? { spkiSha256: signer.spkiSha256, label: party.name } : await resolveRecipient(store, o.to ?? '');
  const template = { kind: o.kind, to: recipient.spkiSha256, now: o.now, ...(o.claims ? { claims: o.claims } : {}), ...(o.stage !== undefined ? { stage: o.stage } : {}) };
  // Shared fields checked here, before any worker starts: bad claims fail the batch once.
  const transfer = createTransfer({ ...template, signer });
  const threads = transfer.sync ? poolThreads(o.serials.length) : 0;
  const setup: TransferSetup & { key: unknown } = { certificate: signer.certificate, key: threads > 0 ? nodeKeyObject(signer.key) : undefined, template: { ...template, now: o.now.getTime() } };
  const pool = threads > 0 ? new WorkerPool<ChainTip[], TransferOutcome[]>(new URL('./transfer-worker.js', import.meta.url), setup, threads) : undefined;
  const known = (tips: Array<ChainTip | undefined>) => tips.filter((t): t is ChainTip => t !== undefined);
  // Without workers: one chunk, one commit. With them, chunks in flight on every worker; when no answer is
  // in yet, this thread signs the next chunk itself rather than wait (the workers' cores may be slower).
  const size = pool ? CHUNK : Math.max(1, o.serials.length);
  const chunks: string[][] = [];
  for (let i = 0; i < o.serials.length; i += size) chunks.push(o.serials.slice(i, i + size));
  const recorded: Array<TransferResult['results']> = new Array(chunks.length);
  const record = async (c: number, tips: Array<ChainTip | undefined>, out: TransferOutcome[]) => {
    recorded[c] = await recordChunk(store, chunks[c]!, tips, out);
  };
  try {
    const inflight = new Map<number, InFlight>();
    let next = 0;
    while (next < chunks.length || inflight.size > 0) {
      while (pool && next < chunks.length && inflight.size < threads * 2) {
        const c = next++;
        const tips = await store.getTips(chunks[c]!);
        const entry: InFlight = { tips, answer: Promise.resolve() };
        entry.answer = pool.run(known(tips)).then((out) => void (entry.out = out));
        inflight.set(c, entry);
      }
      // Let answers that arrived be seen, then record them (any order: each device stands alone).
      if (pool) await new Promise<void>((resolve) => setImmediate(resolve));
      const ready = [...inflight].filter(([, e]) => e.out !== undefined);
      for (const [c, e] of ready) {
        inflight.delete(c);
        await record(c, e.tips, e.out!);
      }
      if (ready.length > 0) continue;
      if (next < chunks.length) {
        const c = next++;
        const tips = await store.getTips(chunks[c]!);
        await record(c, tips, await signOutcomes(transfer, known(tips)));
      } else if (inflight.size > 0) await Promise.race([...inflight.values()].map((e) => e.answer));
    }
  } finally {
    await pool?.close();
  }
  const results = recorded.flat();
  return { party: party.name, to: recipient.label, results };
}

/** Appends a chunk's signed attestations and reports each device of it (`out` follows the known tips). */
async function recordChunk(store: Store, serials: string[], tips: Array<ChainTip | undefined>, out: TransferOutcome[]): Promise<TransferResult['results']> {
  const results: TransferResult['results'] = [];
  const appends: AttestationAppend[] = [];
  const seqs = new Map<string, number>();
  let k = 0;
  serials.forEach((serial, i) => {
    const tip = tips[i];
    if (!tip) {
      results.push({ serial, ok: false, code: 'ERR_DEVICE_UNKNOWN', message: `device ${serial} is not in ${store.location}` });
      return;
    }
    const r = out[k++]!;
    if ('code' in r) {
      results.push({ serial, ok: false, code: r.code, message: r.message });
      return;
    }
    appends.push({ serial, prev: r.prev, attestation: r.der });
    seqs.set(serial, tip.length);
    results.push({ serial, ok: true });
  });
  const stored = new Map((await store.appendAttestations(appends)).map((r) => [r.serial, r]));
  for (const r of results) {
    const s = stored.get(r.serial);
    if (!r.ok || !s) continue;
    if (s.ok) r.seq = seqs.get(r.serial)!;
    else Object.assign(r, { ok: false, code: s.code, message: s.message });
  }
  return results;
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
