/**
 * `firmware export`: the store's releases in a form other update systems read. `--format tuf` publishes a TUF
 * repository (`tuf-export.ts`) whose targets are every release manifest (`releases/<manifest sha256>.der`), the
 * newest withdrawal list (`withdrawals/<number>.der`) and the images given with `--image` that a release names
 * (`images/<image sha256>/<file name>`), each with custody's facts in its `custom` metadata.
 */
import { basename } from 'node:path';
import { CustodyError, fromBase64, toHex } from '@custody/core';
import type { ReleaseRecord, WithdrawalsRecord } from '@custody/core/ports';
import { parseReleaseManifest, parseWithdrawalList } from '@custody/core/release';
import type { Store } from '@custody/store';
import type { KeyProtection } from '@custody/store';
import { provider, readInputFile } from './context.js';
import { exportTufRepository, type TufExportResult, type TufTargetFile } from './tuf-export.js';

/** The formats `firmware export` writes. */
export const FIRMWARE_EXPORT_FORMATS = ['tuf'] as const;

export interface FirmwareExportOptions {
  readonly format: string;
  readonly dir: string;
  /** Image files to publish beside their releases. */
  readonly images: readonly string[];
  readonly passphrase: string | undefined;
  readonly protection: KeyProtection;
  readonly now: Date;
}

export interface FirmwareExportResult extends TufExportResult {
  readonly format: 'tuf';
  readonly releases: number;
}

function decoded(base64: string, what: string): Uint8Array {
  const bytes = fromBase64(base64);
  if (!bytes) throw new CustodyError('ERR_STORE_CORRUPT', `the store's ${what} is not base64`);
  return bytes;
}

/** What a release's TUF target says about it, from the manifest the firmware signer signed. */
interface ReleaseFacts {
  readonly hash: string;
  readonly manifest: Uint8Array;
  readonly imageName: string;
  readonly imageSha256: string;
  readonly length: number;
  readonly version: string;
  readonly securityCounter: number;
  readonly models: readonly string[];
  readonly expires: string;
}

/**
 * A stored release's facts, read from its manifest rather than its row: the TUF targets key signs them as custom
 * metadata a client may act on (the counter, the models), so they must be what the firmware signer signed, and the
 * manifest must be the release the row names.
 */
async function releaseFacts(r: ReleaseRecord): Promise<ReleaseFacts> {
  const manifest = decoded(r.manifest, `release ${r.hash}`);
  const hash = toHex(await provider.digest('SHA-256', manifest));
  if (hash !== r.hash) throw new CustodyError('ERR_STORE_CORRUPT', `the store's release ${r.hash} holds a manifest whose SHA-256 is ${hash}`);
  let s;
  try {
    s = parseReleaseManifest(manifest).statement;
  } catch (e) {
    throw new CustodyError('ERR_STORE_CORRUPT', `the store's release ${r.hash} is not a release manifest: ${(e as Error).message}`, { cause: e });
  }
  const p = s.predicate;
  const subject = s.subject[0];
  return {
    hash,
    manifest,
    imageName: subject.name,
    imageSha256: subject.digest.sha256,
    length: p.length,
    version: p.version,
    securityCounter: p.securityCounter,
    models: p.models,
    expires: p.expires,
  };
}

/** The newest withdrawal list's target, its facts read from the signed list (as `releaseFacts`, for the same reason). */
async function withdrawalsTarget(w: WithdrawalsRecord): Promise<TufTargetFile> {
  const bytes = decoded(w.list, `withdrawal list ${w.number}`);
  const hash = toHex(await provider.digest('SHA-256', bytes));
  if (hash !== w.hash)
    throw new CustodyError('ERR_STORE_CORRUPT', `the store's withdrawal list ${w.number} holds a list whose SHA-256 is ${hash}, not ${w.hash}`);
  let list;
  try {
    list = parseWithdrawalList(bytes).list;
  } catch (e) {
    throw new CustodyError('ERR_STORE_CORRUPT', `the store's withdrawal list ${w.number} is not a withdrawal list: ${(e as Error).message}`, { cause: e });
  }
  return {
    name: `withdrawals/${list.number}.der`,
    bytes,
    custom: { custody: { kind: 'withdrawals', number: list.number, thisUpdate: list.thisUpdate, nextUpdate: list.nextUpdate } },
  };
}

/** A file name a target path can end in: the image's own name when it is plain, else `image.bin`. */
function fileName(imageName: string): string {
  const base = basename(imageName);
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(base) ? base : 'image.bin';
}

/**
 * Writes the store's releases in `o.format` to `o.dir`.
 * @throws ERR_USAGE_FORMAT for an unknown format; ERR_USAGE_IMAGE for an image no release names; ERR_STORE_CORRUPT
 *   for a stored release whose manifest is not the release it names; what
 *   `exportTufRepository` throws
 */
export async function exportFirmware(store: Store, o: FirmwareExportOptions): Promise<FirmwareExportResult> {
  if (!(FIRMWARE_EXPORT_FORMATS as readonly string[]).includes(o.format))
    throw new CustodyError('ERR_USAGE_FORMAT', `--format ${o.format}: the formats are ${FIRMWARE_EXPORT_FORMATS.join(', ')}`);
  const releases: ReleaseFacts[] = [];
  for (const r of await store.listReleases()) releases.push(await releaseFacts(r));
  const targets: TufTargetFile[] = releases.map((r) => ({
    name: `releases/${r.hash}.der`,
    bytes: r.manifest,
    custom: {
      custody: {
        kind: 'release',
        version: r.version,
        securityCounter: r.securityCounter,
        models: r.models,
        imageName: r.imageName,
        imageSha256: r.imageSha256,
        length: r.length,
        expires: r.expires,
      },
    },
  }));
  const withdrawals = await store.latestWithdrawals();
  if (withdrawals) targets.push(await withdrawalsTarget(withdrawals));
  const seen = new Set<string>();
  for (const file of o.images) {
    const bytes = new Uint8Array(readInputFile(file, 'firmwareImage'));
    const sha256 = toHex(await provider.digest('SHA-256', bytes));
    const release = releases.find((r) => r.imageSha256 === sha256 && r.length === bytes.length);
    if (!release) throw new CustodyError('ERR_USAGE_IMAGE', `--image ${file}: no release of this store names this image (SHA-256 ${sha256})`);
    if (seen.has(sha256)) continue;
    seen.add(sha256);
    targets.push({ name: `images/${sha256}/${fileName(release.imageName)}`, bytes, custom: { custody: { kind: 'image', release: release.hash } } });
  }
  const result = await exportTufRepository({
    dir: o.dir,
    keyDir: store.keyDir,
    passphrase: o.passphrase,
    protection: o.protection,
    targets,
    now: o.now,
  });
  return { format: 'tuf', releases: releases.length, ...result };
}
