/** Bundles in and out of a store: `devices export`, `devices import`. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CustodyError,
  createBundle,
  createVerifier,
  decodePEM,
  decodePEMAll,
  encodeBundle,
  parseBundle,
  readCertificateInfo,
  rebuildAttestation,
  toHex,
  type Bundle,
  type DeviceRecord,
  type VerificationReport,
} from '@custody/core';
import type { Store } from '@custody/store';
import { now, provider, readInputFile, readPassphrase } from './context.js';
import { bundleLogOf } from './bundle-log.js';
import { BundleCRLs } from './bundle-crls.js';
import { commitOutputs, discardOutputs, prepareFolder, prepareOutput, writeOutput, type PreparedOutput } from './outputs.js';

/** The CA chain of a device without the root: recorded with it, or walked up the store's CAs. */
export async function deviceChain(store: Store, device: DeviceRecord): Promise<Uint8Array[]> {
  if (device.chain) return device.chain;
  const chain: Uint8Array[] = [];
  let ca = await store.getCA(device.issuer);
  while (ca && ca.issuer !== undefined) {
    chain.push(decodePEM(ca.certificate, ['CERTIFICATE']));
    ca = await store.getCA(ca.issuer);
  }
  if (!ca) throw new CustodyError('ERR_STORE_CHAIN', `device ${device.serial}: its CA chain is not in ${store.location}`);
  return chain;
}

/** How bundles are exported. */
export interface ExportOptions {
  /** The time the bundles' log checkpoint and CRLs state (a verifier at an earlier time rejects them); default: the clock now. */
  now?: Date;
  /** Earlier log checkpoints for every attestation, not only for those by signers this store revoked. */
  logHistory?: boolean;
  /** Told what the exporter should know although the bundles are written (no log, a CA without a CRL). */
  onWarning?: (message: string) => void;
  /**
   * The CRLs of one export run (made by `exportBundles`; a single `bundleOf` makes its own); `false` for none: a
   * bundle this store verifies itself (activation) signs no CRL, so that a refused run uses up no CRL number.
   */
  crls?: BundleCRLs | false;
  /**
   * `exportBundles` writes into `out` as a folder, also for one device: for a selection that can name many
   * (`selectsMany`). Else `out` is a folder only when it is one already or ends in `/`, and a file otherwise.
   */
  folder?: boolean;
}

/** The bundle of one recorded device. */
export async function bundleOf(store: Store, serial: string, passphrase?: string, o: ExportOptions = {}): Promise<Bundle> {
  const device = await store.getDevice(serial);
  if (!device) throw new CustodyError('ERR_DEVICE_UNKNOWN', `device ${serial} is not in ${store.location}`);
  const at = o.now ?? now();
  const bundle = createBundle({ certificate: device.certificate, chain: await deviceChain(store, device), attestations: device.attestations });
  const crls =
    o.crls === false
      ? []
      : await (
          o.crls ?? new BundleCRLs(store, { passphrase: passphrase ?? readPassphrase(undefined), now: at, ...(o.onWarning ? { onWarning: o.onWarning } : {}) })
        ).forCertificates(bundle.certificates);
  // With a log key, the bundle carries a checkpoint and an inclusion proof of every attestation.
  const log = await bundleLogOf(store, bundle, serial, { passphrase, now: at, history: o.logHistory ?? false });
  return { ...bundle, ...(crls.length > 0 ? { crls } : {}), ...(log ? { log } : {}) };
}

/**
 * Writes bundles: into `out` as a folder (`<serial>.json` each, made when missing) when `o.folder` says so or `out`
 * is a folder already (or ends in `/`), else as one file for the one device, replacing earlier exports. Every
 * output is checked before the first bundle is made, and all are moved into place together at the end: a failed
 * export leaves `out` as it was.
 * Each bundle carries a current CRL of each CA of this store that issued one of
 * its certificates (`bundle-crls.ts`).
 * @throws ERR_DEVICE_UNKNOWN, ERR_STORE_CHAIN, ERR_IO_NO_FOLDER, ERR_IO_WRITE, ERR_KEY_PASSPHRASE (wrong passphrase)
 */
export async function exportBundles(
  store: Store,
  serials: string[],
  out: string,
  passphrase?: string,
  o: ExportOptions = {},
): Promise<Array<{ serial: string; file: string; bytes: number }>> {
  // The caller's selection decides, not the number of devices it held (a one-device lot once went to a file).
  const toFolder = o.folder === true || (statSafe(out)?.isDirectory() ?? false) || out.endsWith('/');
  if (!toFolder && serials.length !== 1) throw new TypeError(`exportBundles: ${serials.length} devices need a folder (o.folder)`);
  const folder = toFolder ? prepareFolder(out) : undefined;
  const outputs: PreparedOutput[] = [];
  try {
    for (const serial of serials) outputs.push(prepareOutput(toFolder ? join(out, `${serial}.json`) : out, { force: true }));
    const written: Array<{ serial: string; file: string; bytes: number }> = [];
    const at = o.now ?? now();
    const opts: ExportOptions = {
      ...o,
      now: at,
      crls:
        o.crls ?? new BundleCRLs(store, { passphrase: passphrase ?? readPassphrase(undefined), now: at, ...(o.onWarning ? { onWarning: o.onWarning } : {}) }),
    };
    // Without a log the bundles carry no inclusion proofs, and a policy that requires log inclusion rejects them.
    if (!(await store.getLogConfig())) o.onWarning?.(`${store.location} has no transparency log (custody log init): the bundles carry no log proofs`);
    for (const [i, serial] of serials.entries()) {
      const text = encodeBundle(await bundleOf(store, serial, passphrase, opts));
      writeOutput(outputs[i]!, text);
      written.push({ serial, file: outputs[i]!.path, bytes: Buffer.byteLength(text) });
    }
    commitOutputs(outputs);
    return written;
  } catch (e) {
    discardOutputs(outputs, folder);
    throw e;
  }
}

function statSafe(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

/** Bundle files named by a path: the file, or every *.json of a folder. */
export function bundleFiles(path: string): string[] {
  const st = statSafe(path);
  if (!st) throw new CustodyError('ERR_INPUT_READ', `${path}: no such file or folder`, { file: path });
  if (!st.isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(path, f));
  if (files.length === 0) throw new CustodyError('ERR_INPUT_READ', `${path}: no .json bundles in this folder`, { file: path });
  return files;
}

/** Reads and parses one bundle file; errors name the file. */
export function readBundle(file: string): Bundle {
  const text = readInputFile(file, 'bundle').toString('utf8');
  try {
    return parseBundle(text);
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(file) : e;
  }
}

/** The device record a verified bundle describes. */
/** The model and lot the birth attestation's `production` claim states (signed by the manufacturer's party). */
export function productionOf(b: Bundle): { lot?: string; model?: string } {
  const birth = b.attestations[0]?.statement.predicate;
  const p = birth?.seq === 0 ? birth.claims.production : undefined;
  return { ...(p?.lot !== undefined ? { lot: p.lot } : {}), ...(p?.model !== undefined ? { model: p.model } : {}) };
}

export async function recordOfBundle(b: Bundle): Promise<DeviceRecord> {
  const certificate = b.certificates[0]!;
  const info = readCertificateInfo(certificate);
  const signers = new Set(b.attestations.map((a) => a.signer));
  const chain = b.certificates.slice(1).filter((_, i) => !signers.has(i + 1));
  const serial = info.subjectAttributes.find(([k]) => k === 'serialNumber')?.[1];
  if (!serial) throw new CustodyError('ERR_BUNDLE_DEVICE', 'the device certificate has no subject serialNumber');
  return {
    serial,
    certificate,
    certSerial: info.serialHex,
    spkiSha256: toHex(await provider.digest('SHA-256', info.spki)),
    certSha256: toHex(await provider.digest('SHA-256', certificate)),
    issuer: info.issuerText,
    issuedAt: info.notBefore.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    attestations: b.attestations.map((a) => rebuildAttestation(a, b.certificates)),
    chain,
    // From the signed birth statement: the lot and model the factory attested, so that this store's --lot finds it too.
    ...productionOf(b),
  };
}

export interface ImportResult {
  file: string;
  serial?: string;
  outcome: 'added' | 'extended' | 'unchanged' | 'refused';
  code?: string;
  reason?: string;
}

/**
 * Imports bundles after checking every certificate path, signature and link against the trust anchors; a bad
 * bundle is refused with the first failed check and nothing of it is written.
 */
export async function importBundles(store: Store, files: string[], trustAnchors: Uint8Array[], now: Date): Promise<ImportResult[]> {
  const verifier = createVerifier({ trustAnchors, provider, at: now });
  const results: ImportResult[] = [];
  for (const file of files) {
    let report: VerificationReport;
    let bundle: Bundle;
    try {
      bundle = readBundle(file);
      report = await verifier.verify(bundle);
    } catch (e) {
      if (!(e instanceof CustodyError)) throw e;
      results.push({ file, outcome: 'refused', code: e.code, reason: e.message });
      continue;
    }
    if (!report.ok) {
      const failed = report.checks.find((c) => !c.ok);
      results.push({ file, outcome: 'refused', code: report.code, reason: `${failed?.name}: ${failed?.reason ?? 'failed'}` });
      continue;
    }
    const record = await recordOfBundle(bundle);
    try {
      results.push({ file, serial: record.serial, outcome: await store.importDevice(record) });
    } catch (e) {
      if (!(e instanceof CustodyError)) throw e;
      results.push({ file, serial: record.serial, outcome: 'refused', code: e.code, reason: e.message });
    }
  }
  return results;
}

/** Trust anchors from certificate files (PEM, possibly several per file, or DER). */
export function readTrustAnchors(files: readonly string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const file of files) {
    const bytes = readInputFile(file, 'certificate');
    try {
      if (bytes[0] === 0x30) out.push(new Uint8Array(bytes));
      else {
        out.push(...decodePEMAll(bytes.toString('utf8'), ['CERTIFICATE']));
      }
    } catch (e) {
      throw e instanceof CustodyError ? e.withFile(file) : e;
    }
  }
  return out;
}
