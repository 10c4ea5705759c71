/**
 * A TUF repository of firmware releases, for update clients that speak TUF (tuf-js, python-tuf, go-tuf, Uptane
 * stacks): `DIR/metadata/` (root, targets, snapshot, timestamp; consistent snapshots) and `DIR/targets/`
 * (`<sha256>.<name>`). The four role keys are custody's own, ECDSA P-256, made on the first export and kept
 * encrypted in the store's key folder (`tuf-<role>.key.pem`, mode 0600): the repository's trust does not reuse the
 * firmware signer's X.509 key, whose CMS signature every manifest already carries, so a TUF client and a custody
 * agent each check the release under their own root. docs/tuf.md says how to publish.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CustodyError, parseStrictJSON, toHex, type PrivateKeyHandle } from '@custody/core';
import { TUF_ROLES, buildTufMetadata, tufKeyId, type TufRole, type TufTarget } from '@custody/core/tuf';
import { readPrivateKeyFile, writePrivateKeyFile, type KeyProtection } from '@custody/store';
import { provider, readInputFile } from './context.js';
import { commitOutputs, discardOutputs, prepareFolder, prepareOutput, writeOutput, type PreparedOutput } from './outputs.js';

/** A file to publish as a target, with the custom metadata clients see beside its hash. */
export interface TufTargetFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly custom?: Record<string, unknown>;
}

/** How long each role's metadata stays valid, in days: timestamp short (freeze), root long (offline key). */
export const TUF_LIFETIME_DAYS: Readonly<Record<TufRole, number>> = { root: 365, targets: 90, snapshot: 7, timestamp: 1 };

export interface TufExportOptions {
  /** The repository folder (made when missing). */
  readonly dir: string;
  /** Where the role keys live (the store's key folder). */
  readonly keyDir: string;
  /** Passphrase of existing role keys. */
  readonly passphrase: string | undefined;
  /** Protection of role keys made now (first export). */
  readonly protection: KeyProtection;
  readonly targets: readonly TufTargetFile[];
  readonly now: Date;
  /** Lifetimes in days, overriding `TUF_LIFETIME_DAYS`. */
  readonly lifetimes?: Partial<Record<TufRole, number>>;
}

export interface TufExportResult {
  readonly dir: string;
  /** The version of targets, snapshot and timestamp this publication has (root stays 1: no rotation yet). */
  readonly version: number;
  readonly rootVersion: number;
  readonly targets: readonly string[];
  /** Key IDs of the roles, as root.json lists them. */
  readonly keyIds: Readonly<Record<TufRole, string>>;
  /** Role keys made by this export (its first). */
  readonly keysCreated: boolean;
}

const DAY = 86_400_000;

/** The role keys: loaded, or made all four at once the first time (never a partial set). */
function roleKeys(
  o: TufExportOptions,
): { keys: Record<TufRole, PrivateKeyHandle>; created: boolean } | Promise<{ keys: Record<TufRole, PrivateKeyHandle>; created: boolean }> {
  const file = (role: TufRole) => join(o.keyDir, `tuf-${role}.key.pem`);
  const present = TUF_ROLES.filter((r) => existsSync(file(r)));
  if (present.length === TUF_ROLES.length) {
    const keys = Object.fromEntries(TUF_ROLES.map((r) => [r, readPrivateKeyFile(file(r), o.passphrase)])) as Record<TufRole, PrivateKeyHandle>;
    return { keys, created: false };
  }
  if (present.length > 0)
    throw new CustodyError('ERR_CONFLICT_TUF_KEYS', `${o.keyDir}: only some TUF role keys are there (${present.join(', ')}); restore the others`);
  return (async () => {
    const keys = {} as Record<TufRole, PrivateKeyHandle>;
    for (const r of TUF_ROLES) keys[r] = (await provider.generateKeyPair('P-256')).privateKey;
    mkdirSync(o.keyDir, { recursive: true });
    for (const r of TUF_ROLES) writePrivateKeyFile(file(r), keys[r], o.protection);
    return { keys, created: true };
  })();
}

/** The previous publication's version (its timestamp's), 0 for a new folder; and its root's key IDs. */
function previous(dir: string): { version: number; rootKeyIds?: string[] } {
  const meta = join(dir, 'metadata');
  if (!existsSync(join(meta, 'timestamp.json'))) return { version: 0 };
  const read = (name: string): Record<string, unknown> => {
    const path = join(meta, name);
    const doc = parseStrictJSON(readInputFile(path, 'tufMetadata').toString('utf8'), { code: 'ERR_TUF_METADATA', what: path }) as {
      signed?: Record<string, unknown>;
    };
    if (typeof doc?.signed !== 'object' || doc.signed === null)
      throw new CustodyError('ERR_TUF_METADATA', `${path}: not TUF metadata (no "signed")`, { file: path });
    return doc.signed;
  };
  const version = read('timestamp.json').version;
  if (!Number.isSafeInteger(version) || (version as number) < 1)
    throw new CustodyError('ERR_TUF_METADATA', `${join(meta, 'timestamp.json')}: its version is not a positive integer`);
  if ((version as number) >= Number.MAX_SAFE_INTEGER)
    throw new CustodyError('ERR_TUF_METADATA', `${join(meta, 'timestamp.json')}: version ${version as number} has no version after it that TUF can sign`);
  const roles = read('root.json').roles as Record<string, { keyids?: string[] }> | undefined;
  return { version: version as number, rootKeyIds: TUF_ROLES.flatMap((r) => roles?.[r]?.keyids ?? []) };
}

/**
 * Writes (or publishes the next version of) a TUF repository of `targets` in `o.dir`: target files first, then
 * targets, snapshot and root metadata, and the timestamp last, each moved into place whole, so that a client
 * reading meanwhile sees the previous publication or this one.
 * @throws ERR_CONFLICT_TUF_KEYS when the folder's root names other keys than the store's, or only some role keys
 *   exist; ERR_TUF_METADATA for an unreadable previous publication; ERR_TUF_TARGET for a bad target name;
 *   ERR_KEY_PASSPHRASE; ERR_IO_*
 */
export async function exportTufRepository(o: TufExportOptions): Promise<TufExportResult> {
  const prior = previous(o.dir);
  const { keys, created } = await roleKeys(o);
  const keyIds = {} as Record<TufRole, string>;
  for (const r of TUF_ROLES) keyIds[r] = await tufKeyId(keys[r].spki, provider);
  if (prior.rootKeyIds && prior.rootKeyIds.join() !== TUF_ROLES.map((r) => keyIds[r]).join())
    throw new CustodyError('ERR_CONFLICT_TUF_KEYS', `${o.dir}: its root.json names other keys than this store's TUF keys; export to a new folder`);

  const version = prior.version + 1;
  const life = { ...TUF_LIFETIME_DAYS, ...o.lifetimes };
  const expires = Object.fromEntries(TUF_ROLES.map((r) => [r, new Date(o.now.getTime() + life[r] * DAY)])) as Record<TufRole, Date>;
  const targets: TufTarget[] = [];
  for (const t of o.targets) {
    const sha256 = toHex(await provider.digest('SHA-256', t.bytes));
    targets.push({ name: t.name, length: t.bytes.length, sha256, ...(t.custom ? { custom: t.custom } : {}) });
  }
  const files = await buildTufMetadata({
    targets,
    keys,
    versions: { root: 1, targets: version, snapshot: version, timestamp: version },
    expires,
    provider,
  });

  const plan: Array<[string, Uint8Array]> = [];
  for (const [i, t] of o.targets.entries()) {
    const slash = t.name.lastIndexOf('/');
    plan.push([join('targets', t.name.slice(0, slash + 1), `${targets[i]!.sha256}.${t.name.slice(slash + 1)}`), t.bytes]);
  }
  plan.push([join('metadata', `${version}.targets.json`), files.targets], [join('metadata', `${version}.snapshot.json`), files.snapshot]);
  if (prior.version === 0) plan.push([join('metadata', '1.root.json'), files.root], [join('metadata', 'root.json'), files.root]);
  plan.push([join('metadata', 'timestamp.json'), files.timestamp]);

  const outs: PreparedOutput[] = [];
  try {
    for (const [rel, bytes] of plan) {
      const path = join(o.dir, rel);
      prepareFolder(join(path, '..'));
      // Target files are named by their hash: the same name holds the same bytes, so one already there is kept.
      const out = prepareOutput(path, { force: true });
      outs.push(out);
      writeOutput(out, bytes);
    }
    commitOutputs(outs);
  } catch (e) {
    discardOutputs(outs);
    throw e;
  }
  return { dir: o.dir, version, rootVersion: 1, targets: o.targets.map((t) => t.name), keyIds, keysCreated: created };
}
