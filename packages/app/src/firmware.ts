/**
 * The manufacturer's side of secure updates: firmware signers (`firmware signer create`), signed releases
 * (`firmware release`), withdrawal lists (`firmware revoke`) and the list of releases (`firmware list`). Every
 * output is prepared before anything is recorded, and moved into place once the store has recorded it.
 */
import { CustodyError } from '@custody/core/errors';
import { addDuration, parseISODuration } from '@custody/core';
import { createAttestationSigner, formatStatementTime, type AttestationSigner } from '@custody/core/attestation';
import { createReleaseStatement, createWithdrawalList, signReleaseManifest, signWithdrawalList } from '@custody/core/release';
import { decodePEM, encodePEM } from '@custody/core/x509';
import { toBase64, toHex } from '@custody/core/util';
import type { FirmwareSignerRecord, ReleaseRecord, WithdrawalsRecord } from '@custody/core/ports';
import type { Store } from '@custody/store';
import { checkNewHolderName, issueForNewKey, type CreatePartyOptions } from './ca.js';
import { recordKey } from './new-key.js';
import { loadKey, provider } from './context.js';
import { hashImageFile } from './image-file.js';
import { commitOutputs, discardOutputs, prepareOutput, writeOutput } from './outputs.js';

/** What a firmware signer is made from: what a party is made from. */
export type CreateFirmwareSignerOptions = CreatePartyOptions;

/**
 * Creates a firmware signer: a key (a file, or in a PKCS#11 token) and a codeSigning certificate under one of the
 * store's CAs, from the `firmware-signer` template.
 * @throws ERR_USAGE_NAME, ERR_TEMPLATE_KIND, ERR_CONFLICT_NAME, ERR_USAGE_UNKNOWN_CA, ERR_KEY_PASSPHRASE
 */
export async function createFirmwareSigner(store: Store, o: CreateFirmwareSignerOptions): Promise<FirmwareSignerRecord> {
  if (o.template.kind !== 'firmware-signer')
    throw new CustodyError('ERR_TEMPLATE_KIND', `template "${o.template.name}" is a ${o.template.kind} template, not a firmware-signer template`);
  await checkNewHolderName(store, o.name);
  const { subject, der } = await issueForNewKey(store, o.template, o.ca, { name: o.name, organization: o.organization }, o.passphrase, o.now, o.tokenKey);
  const record: FirmwareSignerRecord = {
    name: o.name,
    ca: o.ca,
    certificate: encodePEM(der, 'CERTIFICATE'),
    key: recordKey(store, o.name, subject, o.protection),
    spkiSha256: toHex(await provider.digest('SHA-256', subject.spki)),
    certSha256: toHex(await provider.digest('SHA-256', der)),
    createdAt: o.now.toISOString(),
  };
  await store.addFirmwareSigner(record);
  return record;
}

/** A firmware signer's CMS signer, with its CA chain below the root (what a device holding the root needs). */
async function loadFirmwareSigner(
  store: Store,
  name: string,
  passphrase: string | undefined,
): Promise<{ record: FirmwareSignerRecord; signer: AttestationSigner }> {
  const record = await store.getFirmwareSigner(name);
  if (!record?.key) {
    const names = (await store.listFirmwareSigners()).map((s) => s.name).join(', ') || 'none';
    throw new CustodyError('ERR_USAGE_SIGNER', `no firmware signer "${name}" in ${store.location} (firmware signers: ${names})`);
  }
  const chain: Uint8Array[] = [];
  for (let ca = await store.getCA(record.ca); ca?.issuer !== undefined; ca = await store.getCA(ca.issuer)) {
    chain.push(decodePEM(ca.certificate, ['CERTIFICATE']));
    if (chain.length > 4) throw new CustodyError('ERR_USAGE_SIGNER', `firmware signer "${name}": its CA chain is deeper than a release manifest carries (4)`);
  }
  const certificate = decodePEM(record.certificate, ['CERTIFICATE']);
  const signer = await createAttestationSigner({ certificate, key: loadKey(store, record.key, passphrase), provider, chain });
  return { record, signer };
}

/** An ISO 8601 duration flag after `now`. */
function after(now: Date, duration: string, flag: string): string {
  const d = parseISODuration(duration);
  if (!d) throw new CustodyError('ERR_USAGE_DURATION', `${flag} ${JSON.stringify(duration)}: not an ISO 8601 duration such as P90D or P1Y`);
  return formatStatementTime(addDuration(now, d));
}

export interface ReleaseOptions {
  /** The image file. */
  file: string;
  /** The image's name in the manifest; default the file's base name. */
  imageName: string;
  version: string;
  securityCounter: number;
  models: readonly string[];
  /** ISO 8601 duration after `now`. */
  expires: string;
  signer: string;
  out: string;
  force?: boolean;
  passphrase: string | undefined;
  now: Date;
}

/**
 * Signs a release manifest for an image and records the release, chained to the newest release before it.
 * @throws ERR_USAGE_SIGNER, ERR_USAGE_DURATION, ERR_RELEASE_MALFORMED (a field out of bounds),
 *   ERR_CONFLICT_SECURITY_COUNTER (below an earlier release's counter for one of its models),
 *   ERR_CONFLICT_RELEASE_PREVIOUS (another release recorded meanwhile), ERR_INPUT_* (the image), ERR_IO_* (--out)
 */
export async function createRelease(store: Store, o: ReleaseOptions): Promise<{ record: ReleaseRecord; out: string }> {
  if (!Number.isSafeInteger(o.securityCounter) || o.securityCounter < 0)
    throw new CustodyError('ERR_USAGE_FLAGS', `--security-counter ${o.securityCounter}: must be an integer >= 0`);
  const expires = after(o.now, o.expires, '--expires');
  const { record: signerRecord, signer } = await loadFirmwareSigner(store, o.signer, o.passphrase);
  const releases = await store.listReleases();
  for (const r of releases) {
    const model = r.models.find((m) => o.models.includes(m));
    if (model !== undefined && o.securityCounter < r.securityCounter)
      throw new CustodyError(
        'ERR_CONFLICT_SECURITY_COUNTER',
        `--security-counter ${o.securityCounter} is below release ${r.version}'s ${r.securityCounter} for model ${model}: devices that took it would refuse this one`,
      );
  }
  const image = hashImageFile(o.file);
  const statement = createReleaseStatement({
    imageName: o.imageName,
    imageSha256: image.sha256,
    length: image.length,
    version: o.version,
    securityCounter: o.securityCounter,
    models: o.models,
    expires,
    previous: releases.at(-1)?.hash ?? null,
    signer: signer.spkiSha256,
    time: formatStatementTime(o.now),
  });
  const output = prepareOutput(o.out, { force: o.force ?? false });
  try {
    const der = await signReleaseManifest(signer, statement, o.now);
    writeOutput(output, der);
    const p = statement.predicate;
    const record: ReleaseRecord = {
      hash: toHex(await provider.digest('SHA-256', der)),
      manifest: toBase64(der),
      imageName: statement.subject[0].name,
      imageSha256: image.sha256,
      length: image.length,
      version: p.version,
      securityCounter: p.securityCounter,
      models: p.models,
      expires: p.expires,
      previous: p.previous,
      signer: signerRecord.name,
      time: p.time,
    };
    await store.recordRelease(record);
    commitOutputs([output]);
    return { record, out: o.out };
  } finally {
    discardOutputs([output]);
  }
}

export interface RevokeOptions {
  /** Releases to withdraw: a manifest hash (or a unique prefix of at least 8 digits) or a version. */
  releases: readonly string[];
  signer: string;
  /** ISO 8601 duration after `now`: when devices should expect the next list. */
  nextUpdate: string;
  out: string;
  force?: boolean;
  passphrase: string | undefined;
  now: Date;
}

/** The one recorded release `ref` names. */
function findRelease(releases: readonly ReleaseRecord[], ref: string): ReleaseRecord {
  const found = releases.filter((r) => r.version === ref || (ref.length >= 8 && /^[0-9a-f]+$/.test(ref) && r.hash.startsWith(ref)));
  if (found.length !== 1)
    throw new CustodyError(
      'ERR_USAGE_RELEASE',
      found.length === 0 ? `--release ${ref}: no recorded release has that version or hash` : `--release ${ref}: names ${found.length} releases; give the hash`,
    );
  return found[0]!;
}

/**
 * Issues the next withdrawal list: the releases the newest list withdrew and the ones named now, numbered one past
 * it, signed by a firmware signer. With no release named it re-issues the list with a new `nextUpdate`.
 * @throws ERR_USAGE_RELEASE, ERR_USAGE_SIGNER, ERR_USAGE_DURATION, ERR_CONFLICT_WITHDRAWALS_NUMBER (another list
 *   issued meanwhile), ERR_IO_* (--out)
 */
export async function withdrawReleases(store: Store, o: RevokeOptions): Promise<{ record: WithdrawalsRecord; added: string[]; out: string }> {
  const nextUpdate = after(o.now, o.nextUpdate, '--next-update');
  const releases = await store.listReleases();
  const added = o.releases.map((ref) => findRelease(releases, ref).hash);
  const { signer } = await loadFirmwareSigner(store, o.signer, o.passphrase);
  const previous = await store.latestWithdrawals();
  const time = formatStatementTime(o.now);
  const list = createWithdrawalList({
    number: (previous?.number ?? 0) + 1,
    thisUpdate: time,
    nextUpdate,
    signer: signer.spkiSha256,
    withdrawn: [...(previous?.withdrawn ?? []), ...added.map((release) => ({ release, time }))],
  });
  const output = prepareOutput(o.out, { force: o.force ?? false });
  try {
    const der = await signWithdrawalList(signer, list, o.now);
    writeOutput(output, der);
    const record: WithdrawalsRecord = {
      number: list.number,
      hash: toHex(await provider.digest('SHA-256', der)),
      list: toBase64(der),
      thisUpdate: list.thisUpdate,
      nextUpdate: list.nextUpdate,
      withdrawn: list.withdrawn,
    };
    await store.recordWithdrawals(record);
    commitOutputs([output]);
    return { record, added, out: o.out };
  } finally {
    discardOutputs([output]);
  }
}

/** One release as `firmware list` shows it. */
export interface ReleaseListing extends Omit<ReleaseRecord, 'manifest'> {
  withdrawn: boolean;
}

/** Every release, oldest first, marked withdrawn when the newest withdrawal list names it; and that list's number. */
export async function listReleases(store: Store): Promise<{ releases: ReleaseListing[]; withdrawals: { number: number; nextUpdate: string } | null }> {
  const latest = await store.latestWithdrawals();
  const withdrawn = new Set(latest?.withdrawn.map((w) => w.release) ?? []);
  const releases = (await store.listReleases()).map(({ manifest: _manifest, ...r }) => ({ ...r, withdrawn: withdrawn.has(r.hash) }));
  return { releases, withdrawals: latest ? { number: latest.number, nextUpdate: latest.nextUpdate } : null };
}
