/** `devices provision`: requests from files or keys made on the line, issued in one batch. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
// Deep imports: this module runs under the lean launcher (see context.ts).
import { CustodyError } from '@custody/core/errors';
import { readCertificateInfo } from '@custody/core/x509';
import { decodePEM, derOrPEM } from '@custody/core/x509';
import {
  createIssuer,
  prepareChecked,
  type IssuedBefore,
  type Prepared,
  type ProvisionInput,
  type ProvisionOptions,
  type ProvisionedDevice,
} from '@custody/core/provisioning';
import type { CertificateTemplate } from '@custody/core/templates';
import type { PrivateKeyHandle } from '@custody/core/crypto';
import type { KeyProtection } from '@custody/store/keys';
import { withProduction, type Claims } from '@custody/core/attestation';
import { partySigner, resolveRecipient, signingParty } from './parties.js';
import type { Store } from '@custody/store/registry';
import { loadKeyAsync, provider, readInputFile } from './context.js';
import { checkRequests, ownBytes } from './check-requests.js';
import { issuingOptions, issuingSpec, type IssuingParts } from './issuing.js';
import { startProvisionPool, type ProvisionAnswer, type ProvisionJob, type ProvisionPool } from './provision-pool.js';
import { runPipeline } from './pipeline.js';
export { birthHook } from './issuing.js';
import { interruptedError, recordedSummary } from './interrupt.js';
import { poolThreads } from './pool-size.js';
import { discardOutputs, type PreparedOutput } from './outputs.js';
import { afterCommitError, batchFiles, prepareDeviceOutputs, type BatchFiles } from './provision-outputs.js';
import { phaseCounter, type BatchProgress } from './batch-progress.js';

const CSR_LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'];

/** Reads one CSR file or every *.csr, *.pem, *.der file of a folder. Errors name the file. */
export function readCSRInputs(path: string): ProvisionInput[] {
  return readCSRFiles(listCSRFiles(path));
}

/** The CSR files `--csr` names: the file itself, or every *.csr, *.pem, *.der file of the folder, sorted. */
function listCSRFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new CustodyError('ERR_INPUT_READ', `${path}: cannot read (${(e as NodeJS.ErrnoException).code})`, { file: path });
  }
  const files = st.isDirectory()
    ? readdirSync(path)
        .filter((f) => /\.(csr|pem|der)$/i.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (files.length === 0) throw new CustodyError('ERR_CSR_NONE', `${path}: no .csr, .pem or .der files in this folder`, { file: path });
  return files;
}

function readCSRFiles(files: readonly string[]): ProvisionInput[] {
  return files.map((file) => {
    try {
      return { source: file, csr: derOrPEM(readInputFile(file, 'csr'), CSR_LABELS) };
    } catch (e) {
      if (e instanceof CustodyError) throw e.withFile(file);
      throw new CustodyError('ERR_INPUT_READ', `${file}: cannot read (${(e as NodeJS.ErrnoException).code})`, { file });
    }
  });
}

/** Expands a serial pattern: {seq} or {seq:6} (zero-padded counter), {rand} or {rand:8} (hex), {lot}, {model}. */
export function expandSerialPattern(pattern: string, seq: number, vars: { lot?: string; model?: string }, random: () => string): string {
  return pattern.replace(/\{(seq|rand|lot|model)(?::(\d+))?\}/g, (_, v: string, width?: string) => {
    if (v === 'seq') return String(seq).padStart(Number(width ?? 0), '0');
    if (v === 'rand') return random().slice(0, Number(width ?? 8));
    const value = v === 'lot' ? vars.lot : vars.model;
    if (!value) throw new CustodyError('ERR_USAGE_PATTERN', `serial pattern uses {${v}} but --${v} was not given`);
    return value;
  });
}

export interface ProvisionCommandOptions {
  ca: string;
  template: CertificateTemplate;
  csrPath?: string;
  generate?: number;
  serialPattern: string;
  start: number;
  model?: string;
  lot?: string;
  out?: string;
  /** Replace files already in `out`. */
  force?: boolean;
  passphrase: string | undefined;
  /** The party signing birth attestations: a name, or the store's only party; `false` for none. */
  party?: string | false;
  /** First custodian: a party certificate file or a party name (default: the signing party). */
  to?: string;
  claims?: Claims;
  /** Protection of device keys made on the line. */
  deviceKeyProtection?: KeyProtection;
  now: Date;
  /** Told how far the batch is, phase by phase (batch-progress.ts). */
  onProgress?: BatchProgress;
  /** Aborted: the batch stops at its next chunk boundary and throws ERR_INTERRUPTED (see interrupt.ts). */
  signal?: AbortSignal;
  /** Devices a commit (2,048 unless given: tests use fewer). */
  chunkSize?: number;
}

export interface ProvisionResult {
  ca: string;
  /** The party that signed the birth attestations, when there were any. */
  attestedBy?: string;
  devices: Array<{ serial: string; certSerial: string; source: string; certificate?: string; key?: string; attested: boolean }>;
  /** Devices an earlier run issued to the same key (a re-run): skipped, nothing written for them. */
  alreadyIssued?: Array<{ serial: string; certSerial: string; source: string }>;
}

/**
 * The issuing side of a batch, prepared once: factory, birth signer, everything but the requests. The CA's key and
 * the signing party's derive side by side, off this thread; `meanwhile` (reading the requests) runs here as they do.
 * @throws ERR_USAGE_UNKNOWN_CA, ERR_TEMPLATE_KIND, ERR_USAGE_PARTY, the recipient's and the keys' codes (the CA
 *   key's first), and whatever `meanwhile` throws
 */
export async function provisioningSetup(
  store: Store,
  o: Omit<ProvisionCommandOptions, 'csrPath' | 'generate' | 'serialPattern' | 'start'>,
  meanwhile: () => void = () => {},
): Promise<{ options: ProvisionOptions; attestedBy?: string; at(now: Date): Promise<ProvisionOptions>; parts: IssuingParts }> {
  const ca = await store.getCA(o.ca);
  if (!ca) throw new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${o.ca}" in ${store.location}`);
  if (o.template.kind !== 'idevid')
    throw new CustodyError('ERR_TEMPLATE_KIND', `template "${o.template.name}" is a ${o.template.kind} template; devices need an idevid template`);
  const caInfo = readCertificateInfo(decodePEM(ca.certificate, ['CERTIFICATE']));
  const organization = caInfo.subjectAttributes.find(([k]) => k === 'O')?.[1];
  const hasParty = o.party !== false && (o.party !== undefined || (await store.listParties()).some((p) => p.key && p.role === undefined));
  const party = hasParty ? await signingParty(store, o.party || undefined) : undefined;
  const recipient = party && o.to ? (await resolveRecipient(store, o.to)).spkiSha256 : undefined;
  const keys = Promise.allSettled([loadKeyAsync(store, ca.key, o.passphrase), party ? partySigner(store, party, o.passphrase) : undefined]);
  meanwhile();
  const [caKey, signer] = await keys;
  if (caKey.status === 'rejected') throw caKey.reason;
  if (signer.status === 'rejected') throw signer.reason;
  const attest = party && signer.value ? { party, signer: signer.value } : undefined;
  const to = attest ? (recipient ?? attest.signer.spkiSha256) : undefined;
  const parts: IssuingParts = {
    template: o.template,
    ca: { certificate: caInfo, key: caKey.value },
    issuerName: o.ca,
    organization,
    model: o.model,
    lot: o.lot,
    birth: attest
      ? { manufacturer: organization ?? caInfo.subjectText, signer: attest.signer, to: to!, claims: withProduction(o.claims, o.model, o.lot) }
      : undefined,
  };
  // Options for a given time: a long-running station dates each group by its own clock reading.
  const at = async (now: Date): Promise<ProvisionOptions> => ({ ...(await issuingOptions(parts, provider, now)), registry: store });
  const options = await at(o.now);
  return attest ? { options, attestedBy: attest.party.name, at, parts } : { options, at, parts };
}

/**
 * Runs one provisioning batch. Every output in `out` is checked, and every generated key written (flushed, mode
 * 0600) under a temporary name, before anything is recorded; a chunk's files are moved into place once the store
 * has recorded it. A batch refused before its first commit leaves `out` as it was.
 * A device recorded by an earlier run (the same key for a request; the same serial for a generated key) is
 * skipped and listed in `alreadyIssued`, so that a re-run completes what a stopped run left.
 * @throws the codes of `provisionDevices`, ERR_IO_NO_FOLDER, ERR_IO_EXISTS (unless `force`), ERR_IO_WRITE,
 * ERR_INTERRUPTED (`signal` aborted: what was recorded stays, with its files)
 */
export async function provision(store: Store, o: ProvisionCommandOptions): Promise<ProvisionResult> {
  // The requests are listed first: a batch large enough for worker threads starts them now, so that they load
  // while this thread derives the keys and reads the requests.
  const csrFiles = o.csrPath === undefined ? undefined : listCSRFiles(o.csrPath);
  const pool = await startProvisionPool(poolThreads(csrFiles ? csrFiles.length : (o.generate ?? 0)));
  try {
    return await provisionWith(store, o, csrFiles, pool);
  } finally {
    await pool?.pool.close();
  }
}

async function provisionWith(
  store: Store,
  o: ProvisionCommandOptions,
  csrFiles: string[] | undefined,
  pool: ProvisionPool | undefined,
): Promise<ProvisionResult> {
  // The requests are read while the keys derive.
  let read: ProvisionInput[] | undefined;
  const { options, attestedBy, parts } = await provisioningSetup(store, o, () => {
    if (csrFiles !== undefined) read = readCSRFiles(csrFiles);
  });
  // The workers issue too, from the same inputs, when the keys can go to them (a token's key cannot).
  const spec = pool && issuingSpec(parts);
  const issuing = spec
    ? pool!.pool.broadcast({ issuing: spec, now: o.now }).then(
        (ready) => ready.every((r) => r === true),
        () => false,
      )
    : undefined;
  const generatedKeys = new Map<string, PrivateKeyHandle>();
  // Devices a run before this one issued already (a re-run): skipped, reported, nothing written for them.
  const issued: IssuedBefore[] = [];
  let inputs: ProvisionInput[];
  if (read !== undefined) inputs = read;
  else {
    inputs = [];
    const random = () => Buffer.from(provider.randomBytes(8)).toString('hex');
    const serials = Array.from({ length: o.generate ?? 0 }, (_, i) => expandSerialPattern(o.serialPattern, o.start + i, o, random));
    // A serial recorded before was issued to the key an earlier run made for it (and wrote): no new key.
    const tips = await store.getTips(serials);
    const generated = phaseCounter(o.onProgress, 'keys', tips.filter((t) => t === undefined).length);
    for (const [i, serial] of serials.entries()) {
      const source = `generated device ${serial}`;
      if (tips[i] !== undefined) {
        const d = await store.getDevice(serial);
        issued.push({ source, serial, certSerial: d?.certSerial ?? '' });
        continue;
      }
      const keys = await provider.generateKeyPair(o.template.keyAlgorithm);
      generatedKeys.set(serial, keys.privateKey);
      inputs.push({ source, generated: { spki: keys.publicKey.spki, serial } });
      generated();
    }
  }
  const prepared = await prepareInputs(inputs, options, issued, phaseCounter(o.onProgress, 'checks', inputs.length), pool ?? 0);
  const files = o.out ? await prepareDeviceOutputs(o.out, prepared, generatedKeys, o, phaseCounter(o.onProgress, 'key-files', generatedKeys.size)) : undefined;
  const result: ProvisionResult = { ca: o.ca, devices: [] };
  if (attestedBy) result.attestedBy = attestedBy;
  if (issued.length > 0) result.alreadyIssued = issued.map((d) => ({ serial: d.serial, certSerial: d.certSerial, source: d.source }));
  const recorded: string[] = [];
  // Errors that already say what the batch recorded.
  const toldRecorded = new WeakSet<CustodyError>();
  const told = (e: CustodyError) => (toldRecorded.add(e), e);
  const written = phaseCounter(o.onProgress, 'writing', files ? prepared.length : 0);
  const writer = files ? await batchFiles(files, poolThreads(prepared.length)) : undefined;
  const release = async (chunk: readonly ProvisionedDevice[]) => {
    for (const d of chunk) recorded.push(d.serial);
    const placed: PreparedOutput[] = [];
    for (const d of chunk) {
      const entry: ProvisionResult['devices'][number] = { serial: d.serial, certSerial: d.certSerial, source: d.source, attested: d.attestations.length > 0 };
      const f = files?.bySerial.get(d.serial);
      if (f) {
        placed.push(...(f.key ? [f.key, f.certificate] : [f.certificate]));
        entry.certificate = f.certificate.path;
        if (f.key) entry.key = f.key.path;
      }
      result.devices.push(entry);
    }
    if (!writer) return;
    try {
      // The certificates were written before the commit (writer); keys were flushed before the batch.
      await writer.commit(placed);
    } catch (e) {
      throw told(afterCommitError(e, recorded, files!, o.lot));
    }
    written(chunk.length);
  };
  try {
    const r = await issueBatch(
      prepared,
      { ...options, onCommitted: release, ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}) },
      o.signal,
      o.onProgress,
      writer,
      (await issuing) ? pool : undefined,
    );
    await writer?.close();
    if (r.stopped) throw told(interruptedError({ recorded, total: inputs.length, resume: RESUME }));
  } catch (e) {
    // Before the first commit nothing is recorded: the folder goes back to how it was. After it, the keys of
    // recorded devices are their only copy and stay (named in the error); everything else goes, once no write
    // is under way.
    if (files) {
      await writer!.close();
      const keep = new Set(recorded);
      discardOutputs(
        [...files.bySerial].flatMap(([serial, f]) => (keep.has(serial) && f.key ? [f.certificate] : [f.certificate, ...(f.key ? [f.key] : [])])),
        recorded.length === 0 ? files.folder : undefined,
      );
    }
    // A failure after some chunks were recorded (a file that could not be written, the store refusing a later
    // chunk) says what is recorded, so that the operator knows a re-run completes it.
    if (recorded.length > 0 && e instanceof CustodyError && !toldRecorded.has(e)) {
      throw new CustodyError(e.code, `${e.message}; ${recordedSummary(recorded, inputs.length)}; ${RESUME}`, {
        category: e.category,
        cause: e,
        ...(e.file === undefined ? {} : { file: e.file }),
      });
    }
    throw e;
  }
  return result;
}

/** How to go on after a batch stopped part-way. */
const RESUME = 'run the same command again to issue the rest (what is recorded is skipped as already issued)';

/**
 * Phase 1 of a batch: every request checked (on worker threads as well as this one for a batch large enough to
 * pay for starting them, `poolThreads`) and checked against the registry.
 * @throws as `prepareProvisioning`
 */
async function prepareInputs(
  inputs: readonly ProvisionInput[],
  options: ProvisionOptions,
  issued?: IssuedBefore[],
  onChecked?: (n: number) => void,
  pool: ProvisionPool | number = poolThreads(inputs.filter((i) => i.csr).length),
): Promise<Prepared[]> {
  const checked = await checkRequests(inputs, options.provider, pool, onChecked);
  return prepareChecked(checked, options.registry, options.provider, issued);
}

/** Items a pipelined provisioning chunk holds: one commit (with its flush) each. */
const CHUNK = 2048;
/** Devices issued between looks at the commit under way, or sent to a worker in one request. */
const PIECE = 128;
/** Pieces queued on each worker. */
const DEPTH = 3;

/**
 * Phase 2 on the shared pipeline (pipeline.ts): certificates and birth attestations are issued on this thread,
 * and on `pool`'s workers when it is given (told what to issue with: provision-pool.ts), while the chunk before is
 * being committed; chunks are committed in input order, each released to `onCommitted` once durable. An aborted
 * `signal` stops the batch at the next chunk boundary. `onProgress` is told of devices signed and devices
 * recorded.
 * @throws the registry's codes on commit, and whatever `onCommitted` throws
 */
export async function issueBatch(
  prepared: readonly Prepared[],
  options: ProvisionOptions,
  signal?: AbortSignal,
  onProgress?: BatchProgress,
  files?: BatchFiles,
  pool?: ProvisionPool,
): Promise<{ devices: ProvisionedDevice[]; stopped: boolean }> {
  const issue = createIssuer(options);
  const chunkSize = options.chunkSize ?? CHUNK;
  const signed = phaseCounter(onProgress, 'signing', prepared.length);
  const recorded = phaseCounter(onProgress, 'committing', prepared.length);
  type Piece = { devices: ProvisionedDevice[]; written?: Promise<void> };
  // A piece's devices, issued here or on a worker: counted, and their certificates written.
  const issuedPiece = (devices: ProvisionedDevice[]): Piece => {
    signed(devices.length);
    if (!files) return { devices };
    const written = files.write(devices);
    // Awaited by the chunk's commit; a batch that stops before it must not leave a refusal unhandled.
    written.catch(() => {});
    return { devices, written };
  };
  const r = await runPipeline<Prepared, null, readonly Prepared[], ProvisionJob, ProvisionAnswer, Piece, ProvisionedDevice[]>(
    prepared,
    {
      read: (items) => {
        const pieces: Prepared[][] = [];
        for (let k = 0; k < items.length; k += PIECE) pieces.push(items.slice(k, k + PIECE));
        return { chunk: null, pieces };
      },
      prepare: (piece) => ({
        request: { issue: piece.map((p) => ({ ...p, spki: ownBytes(p.spki) })) },
        complete: (answer) => {
          const devices = answer as ProvisionedDevice[];
          if (devices.length !== piece.length) throw new Error(`a provisioning worker issued ${devices.length} of ${piece.length} devices`);
          return issuedPiece(devices);
        },
      }),
      signHere: async (piece) => {
        const devices: ProvisionedDevice[] = [];
        for (const p of piece) devices.push(await issue(p));
        return issuedPiece(devices);
      },
      commit: async (_, outcomes) => {
        const chunk = outcomes.flatMap((o) => o.devices);
        // Nothing is recorded before its files are written.
        for (const o of outcomes) await o.written;
        await options.registry.commitDevices(chunk);
        recorded(chunk.length);
        await options.onCommitted?.(chunk);
        return chunk;
      },
    },
    {
      chunkSize,
      readAhead: 1,
      // The workers do the whole of a device; this thread's own share is the commit, so it issues pieces too.
      ...(pool ? { pool: { pool: pool.pool, threads: pool.threads, depth: DEPTH, hereToo: true } } : {}),
      ...(signal ? { shouldStop: () => signal.aborted } : {}),
    },
  );
  return { devices: r.results.flat(), stopped: r.stopped };
}

/**
 * Core's `provisionDevices` with phase 1's signature checks on worker threads as well as this one, for a batch
 * large enough to pay for starting them (`poolThreads`).
 * @throws as `provisionDevices`
 */
export async function provisionInputs(inputs: readonly ProvisionInput[], options: ProvisionOptions): Promise<ProvisionedDevice[]> {
  return (await issueBatch(await prepareInputs(inputs, options), options)).devices;
}
