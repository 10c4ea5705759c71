/**
 * `firmware export`: the store's releases in a form other update systems read. `--format tuf` publishes a TUF
 * repository (`tuf-export.ts`) whose targets are every release manifest (`releases/<manifest sha256>.der`), the
 * newest withdrawal list (`withdrawals/<number>.der`) and the images given with `--image` that a release names
 * (`images/<image sha256>/<file name>`), each with custody's facts in its `custom` metadata.
 */
import { basename } from 'node:path';
import { CustodyError, fromBase64, toHex } from '@custody/core';
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

/** A file name a target path can end in: the image's own name when it is plain, else `image.bin`. */
function fileName(imageName: string): string {
  const base = basename(imageName);
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(base) ? base : 'image.bin';
}

/**
 * Writes the store's releases in `o.format` to `o.dir`.
 * @throws ERR_USAGE_FORMAT for an unknown format; ERR_USAGE_IMAGE for an image no release names; what
 *   `exportTufRepository` throws
 */
export async function exportFirmware(store: Store, o: FirmwareExportOptions): Promise<FirmwareExportResult> {
  if (!(FIRMWARE_EXPORT_FORMATS as readonly string[]).includes(o.format))
    throw new CustodyError('ERR_USAGE_FORMAT', `--format ${o.format}: the formats are ${FIRMWARE_EXPORT_FORMATS.join(', ')}`);
  const releases = await store.listReleases();
  const targets: TufTargetFile[] = releases.map((r) => ({
    name: `releases/${r.hash}.der`,
    bytes: decoded(r.manifest, `release ${r.hash}`),
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
  if (withdrawals)
    targets.push({
      name: `withdrawals/${withdrawals.number}.der`,
      bytes: decoded(withdrawals.list, `withdrawal list ${withdrawals.number}`),
      custom: { custody: { kind: 'withdrawals', number: withdrawals.number, thisUpdate: withdrawals.thisUpdate, nextUpdate: withdrawals.nextUpdate } },
    });
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
