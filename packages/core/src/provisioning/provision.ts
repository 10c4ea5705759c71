/**
 * Factory provisioning: CSRs in, device identity certificates (and birth attestations) out, recorded.
 *
 * Two phases, so that bad input writes nothing: first every request is parsed, its signature checked (proof
 * of possession) and its serial and key checked against the batch and the registry; only then are
 * certificates issued, in chunks, each chunk committed durably before it is released to the caller.
 */
import { CustodyError } from '../errors.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { toHex } from '../util/bytes.js';
import { parseCSR, verifyCSR } from '../x509/csr.js';
import { syncCrypto, type CertificateFactory } from '../x509/certificate-factory.js';
import type { Conflict, DeviceRecord, DeviceRegistry } from '../registry/ports.js';

/** Device serials: safe in a subject (PrintableString), in a file name and in a URL. */
export const DEVICE_SERIAL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface ProvisionInput {
  /** Where the request came from (a file name), named in every error about it. */
  source: string;
  /** DER PKCS#10 request; its subject serialNumber is the device serial. */
  csr?: Uint8Array;
  /** A key made on the line: its SPKI and the serial the line assigned. */
  generated?: { spki: Uint8Array; serial: string };
}

export interface ProvisionedDevice extends DeviceRecord {
  source: string;
}

export interface ProvisionOptions {
  factory: CertificateFactory;
  registry: DeviceRegistry;
  provider: CryptoProvider;
  /** Name of the issuing CA in the store. */
  issuerName: string;
  model?: string;
  lot?: string;
  now: Date;
  /** Signs the birth attestation of a device; absent: no attestation. */
  birth?: (device: { serial: string; certificate: Uint8Array; certSha256: string }) => Promise<Uint8Array>;
  chunkSize?: number;
  /** Called with each chunk after it is durably recorded: only then may certificates leave the process. */
  onCommitted?: (devices: readonly ProvisionedDevice[]) => Promise<void> | void;
}

/** A request that passed phase 1. */
export interface Prepared {
  source: string;
  serial: string;
  /** The CSR subject's CN: the certificate's CN when no model is given. */
  commonName?: string;
  spki: Uint8Array;
  spkiSha256: string;
}

function inputError(e: unknown, source: string): never {
  if (e instanceof CustodyError) throw e.withFile(source);
  throw e;
}

/** One request read and checked on its own (phase 1's per-request part): the serial and key it asks for. */
export interface CheckedRequest {
  source: string;
  serial: string;
  /** The CSR subject's CN, when it has one. */
  commonName?: string;
  spki: Uint8Array;
}

/**
 * Phase 1 for one request, on its own: parses a CSR and checks its signature (proof of possession), or takes a
 * key made on the line, and checks the serial's form. Requests are independent, so a batch may check them on
 * several threads and hand the outcomes to `prepareChecked` in input order.
 * @throws ERR_CSR_PARSE, ERR_CSR_SIGNATURE, ERR_CSR_SERIAL (missing or malformed), naming `input.source`
 */
export async function checkRequest(input: ProvisionInput, provider: CryptoProvider): Promise<CheckedRequest> {
  let serial: string;
  let spki: Uint8Array;
  let commonName: string | undefined;
  try {
    if (input.csr) {
      const csr = parseCSR(input.csr);
      await verifyCSR(csr, provider);
      if (csr.serialNumber === undefined) throw new CustodyError('ERR_CSR_SERIAL', 'CSR subject has no serialNumber (the device serial)');
      serial = csr.serialNumber;
      spki = csr.spki;
      commonName = csr.subject.find(([k]) => k === 'CN')?.[1];
    } else if (input.generated) {
      ({ serial, spki } = input.generated);
    } else throw new TypeError('a provisioning input needs a csr or a generated key');
    if (!DEVICE_SERIAL.test(serial))
      throw new CustodyError('ERR_CSR_SERIAL', `device serial "${serial}" is not 1 to 64 letters, digits, dots, dashes or underscores`);
  } catch (e) {
    inputError(e, input.source);
  }
  return commonName === undefined ? { source: input.source, serial, spki } : { source: input.source, serial, spki, commonName };
}

/** A request whose device the registry holds already, certified for the same key: a re-run skips it. */
export interface IssuedBefore {
  source: string;
  serial: string;
  certSerial: string;
}

/**
 * Phase 1's batch part, over the outcomes of `checkRequest` in input order (a refused request as its error):
 * the first refusal or repeat in that order is thrown, then the registry is asked about the rest. With
 * `issued`, a request for a serial the registry holds with the same key (a re-run of the same batch) goes there
 * instead of being refused; any other conflict is still refused.
 * @throws the refusal's code, ERR_DUPLICATE_SERIAL, ERR_DUPLICATE_KEY
 */
export async function prepareChecked(
  checked: ReadonlyArray<CheckedRequest | CustodyError>,
  registry: DeviceRegistry,
  provider: CryptoProvider,
  issued?: IssuedBefore[],
): Promise<Prepared[]> {
  let out: Prepared[] = [];
  const sync = syncCrypto(provider);
  const serials = new Map<string, string>();
  const keys = new Map<string, string>();
  for (const c of checked) {
    if (c instanceof CustodyError) throw c;
    const { source, serial, spki, commonName } = c;
    const spkiSha256 = toHex(sync ? sync.digestSync('SHA-256', spki) : await provider.digest('SHA-256', spki));
    const seenSerial = serials.get(serial);
    if (seenSerial !== undefined)
      throw new CustodyError('ERR_DUPLICATE_SERIAL', `${source}: device serial ${serial} appears twice in this batch (also in ${seenSerial})`, {
        file: source,
      });
    const seenKey = keys.get(spkiSha256);
    if (seenKey !== undefined)
      throw new CustodyError('ERR_DUPLICATE_KEY', `${source}: the same public key appears twice in this batch (also in ${seenKey})`, { file: source });
    serials.set(serial, source);
    keys.set(spkiSha256, source);
    out.push(commonName === undefined ? { source, serial, spki, spkiSha256 } : { source, serial, spki, spkiSha256, commonName });
  }
  let conflicts = await registry.findConflicts(out.map((p) => ({ serial: p.serial, spkiSha256: p.spkiSha256 })));
  if (conflicts.length > 0 && issued) {
    const skipped = await issuedBefore(out, conflicts, registry);
    issued.push(...skipped.values());
    out = out.filter((p) => !skipped.has(p.serial));
    conflicts = conflicts.filter((c) => !(c.kind === 'serial' ? skipped.has(c.value) : [...skipped.values()].some((s) => s.spkiSha256 === c.value)));
  }
  if (conflicts.length > 0) {
    const c = conflicts[0]!;
    const p = out.find((x) => (c.kind === 'serial' ? x.serial === c.value : x.spkiSha256 === c.value))!;
    throw c.kind === 'serial'
      ? new CustodyError('ERR_DUPLICATE_SERIAL', `${p.source}: device serial ${p.serial} was issued before`, { file: p.source })
      : new CustodyError('ERR_DUPLICATE_KEY', `${p.source}: this public key is already certified for another device`, { file: p.source });
  }
  return out;
}

/** The requests among `out` whose serial the registry holds certified for the same key, by serial. */
async function issuedBefore(
  out: readonly Prepared[],
  conflicts: readonly Conflict[],
  registry: DeviceRegistry,
): Promise<Map<string, IssuedBefore & { spkiSha256: string }>> {
  const found = new Map<string, IssuedBefore & { spkiSha256: string }>();
  const bySerial = new Map(out.map((p) => [p.serial, p]));
  for (const c of conflicts) {
    const p = c.kind === 'serial' ? bySerial.get(c.value) : undefined;
    if (!p) continue;
    const d = await registry.getDevice(p.serial);
    if (d && d.spkiSha256 === p.spkiSha256) found.set(p.serial, { source: p.source, serial: p.serial, certSerial: d.certSerial, spkiSha256: p.spkiSha256 });
  }
  return found;
}

/**
 * Phase 1: parses and checks every request; nothing is issued or written. Every request is checked before the
 * first problem in input order is reported (as a batch checked on several threads would find it).
 * @throws ERR_CSR_PARSE, ERR_CSR_SIGNATURE, ERR_CSR_SERIAL (missing or malformed), ERR_DUPLICATE_SERIAL, ERR_DUPLICATE_KEY
 */
export async function prepareProvisioning(inputs: readonly ProvisionInput[], registry: DeviceRegistry, provider: CryptoProvider): Promise<Prepared[]> {
  const checked: Array<CheckedRequest | CustodyError> = [];
  for (const input of inputs) {
    try {
      checked.push(await checkRequest(input, provider));
    } catch (e) {
      if (!(e instanceof CustodyError)) throw e;
      // Kept in its place: a repeat earlier in the batch is still the error reported first.
      checked.push(e);
    }
  }
  return prepareChecked(checked, registry, provider);
}

/**
 * Provisions a batch: checks everything first, then issues and records chunk by chunk.
 * @returns every device issued, in input order
 * @throws the codes of `prepareProvisioning`, and the registry's on commit
 */
export async function provisionDevices(inputs: readonly ProvisionInput[], opts: ProvisionOptions): Promise<ProvisionedDevice[]> {
  return issuePrepared(await prepareProvisioning(inputs, opts.registry, opts.provider), opts);
}

/**
 * Phase 2 alone: issues and records requests `prepareProvisioning` accepted (a station checks each request as
 * it arrives and issues what has gathered in one commit).
 * @throws the registry's codes on commit
 */
export async function issuePrepared(prepared: readonly Prepared[], opts: ProvisionOptions): Promise<ProvisionedDevice[]> {
  const chunkSize = opts.chunkSize ?? 2048;
  const issue = createIssuer(opts);
  const all: ProvisionedDevice[] = [];
  for (let i = 0; i < prepared.length; i += chunkSize) {
    const chunk: ProvisionedDevice[] = [];
    for (const p of prepared.slice(i, i + chunkSize)) chunk.push(await issue(p));
    await opts.registry.commitDevices(chunk);
    await opts.onCommitted?.(chunk);
    all.push(...chunk);
  }
  return all;
}

/**
 * Phase 2 for one request at a time, for a caller that commits itself (a pipelined batch): the certificate and the
 * birth attestation of each request, as the record `commitDevices` takes. Nothing is recorded.
 */
export function createIssuer(opts: Omit<ProvisionOptions, 'registry' | 'chunkSize' | 'onCommitted'>): (p: Prepared) => Promise<ProvisionedDevice> {
  const { factory, provider } = opts;
  const issuedAt = opts.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const sync = syncCrypto(provider);
  return async (p) => {
    // The CN: the model, else what the device asked for, else its serial; never a template's name.
    const req = { spki: p.spki, vars: { serial: p.serial, model: opts.model ?? p.commonName ?? p.serial, lot: opts.lot } };
    const cert = sync ? factory.issueSync(req, sync) : await factory.issue(req);
    const certSha256 = toHex(sync ? sync.digestSync('SHA-256', cert.der) : await provider.digest('SHA-256', cert.der));
    const attestations = opts.birth ? [await opts.birth({ serial: p.serial, certificate: cert.der, certSha256 })] : [];
    const record: ProvisionedDevice = {
      source: p.source,
      serial: p.serial,
      certificate: cert.der,
      certSerial: cert.serialHex,
      spkiSha256: p.spkiSha256,
      certSha256,
      issuer: opts.issuerName,
      issuedAt,
      attestations,
    };
    if (opts.model !== undefined) record.model = opts.model;
    if (opts.lot !== undefined) record.lot = opts.lot;
    return record;
  };
}
