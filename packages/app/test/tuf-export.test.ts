/**
 * The TUF repository `firmware export --format tuf` writes, checked by a real TUF client: tuf-js's Updater,
 * offline, through a fetcher that reads the repository folder. Besides accepting the repository and a target, the
 * client must refuse what TUF exists to refuse, on metadata these tests construct from real publications:
 * rollback (older metadata after newer), freeze (an expired timestamp) and mix-and-match (a snapshot or targets
 * file of another publication).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import tuf from 'tuf-js';
// tuf-js tells "no newer root" from a failure by this error's status code; its index does not export the class.
import tufErrors from 'tuf-js/dist/error.js';
import { toHex } from '@custody/core';
import { nodeSha256 } from '@custody/core/node';
import type { ReleaseRecord, WithdrawalsRecord } from '@custody/core/ports';
import { parseReleaseManifest, parseWithdrawalList } from '@custody/core/release';
import type { Store } from '@custody/store';
import { exportFirmware } from '../src/firmware-export.js';
import { exportTufRepository, type TufExportOptions, type TufTargetFile } from '../src/tuf-export.js';

const { Updater } = tuf;
const { DownloadHTTPError } = tufErrors as unknown as { DownloadHTTPError: new (message: string, status: number) => Error };

/** Serves `file:` URLs from disk, as an HTTP server would serve the folder: a missing file is a 404. */
class FileFetcher {
  // The length bound is left to tuf-js's own checks of length and hash, so that the refusals below are its own.
  async downloadBytes(url: string): Promise<Buffer> {
    const path = fileURLToPath(url);
    if (!existsSync(path)) throw new DownloadHTTPError(`${url}: not found`, 404);
    return readFileSync(path);
  }
  async downloadFile<T>(url: string, _maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    const bytes = await this.downloadBytes(url);
    const dir = mkdtempSync(join(tmpdir(), 'custody-tuf-dl-'));
    try {
      writeFileSync(join(dir, 'download'), bytes);
      return await handler(join(dir, 'download'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const IMAGE = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
const MANIFEST = new TextEncoder().encode('a release manifest stands here');
const TARGETS: TufTargetFile[] = [
  { name: 'NG-200/2.4.1/image.bin', bytes: IMAGE, custom: { custody: { version: '2.4.1', securityCounter: 3, models: ['NG-200'] } } },
  { name: 'NG-200/2.4.1/release.der', bytes: MANIFEST },
];

describe('app: TUF export, verified by tuf-js', function () {
  let tmp: string;
  let repo: string;
  let base: Omit<TufExportOptions, 'targets' | 'now'>;
  beforeEach(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-tuf-'));
    repo = join(tmp, 'repo');
    base = { dir: repo, keyDir: join(tmp, 'keys'), passphrase: 'tuf test', protection: { passphrase: 'tuf test' } };
  });
  afterEach(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  /** A client that trusts the repository's first root, with its own metadata cache. */
  function client(cache = join(tmp, 'client')): InstanceType<typeof Updater> {
    if (!existsSync(join(cache, 'root.json'))) {
      mkdirSync(join(cache, 'targets'), { recursive: true });
      cpSync(join(repo, 'metadata', '1.root.json'), join(cache, 'root.json'));
    }
    return new Updater({
      metadataDir: cache,
      metadataBaseUrl: pathToFileURL(join(repo, 'metadata')).href,
      targetDir: join(cache, 'targets'),
      targetBaseUrl: pathToFileURL(join(repo, 'targets')).href,
      fetcher: new FileFetcher(),
    });
  }

  const publish = (targets: TufTargetFile[], now = new Date()) => exportTufRepository({ ...base, targets, now });

  it('tuf-js verifies the exported repository and downloads a target with its custom metadata', async function () {
    const result = await publish(TARGETS);
    assert.equal(result.version, 1);
    assert.equal(result.keysCreated, true);
    const updater = client();
    await updater.refresh();
    const info = await updater.getTargetInfo('NG-200/2.4.1/image.bin');
    assert.ok(info, 'the image is a target');
    assert.deepEqual(info.custom, { custody: { version: '2.4.1', securityCounter: 3, models: ['NG-200'] } });
    const file = await updater.downloadTarget(info, join(tmp, 'image.bin'));
    assert.deepEqual(new Uint8Array(readFileSync(file)), IMAGE);
    assert.equal(await updater.getTargetInfo('NG-200/9.9.9/image.bin'), undefined);
  });

  it('a target with one byte changed is refused on download', async function () {
    await publish(TARGETS);
    const updater = client();
    await updater.refresh();
    const info = (await updater.getTargetInfo('NG-200/2.4.1/image.bin'))!;
    const stored = join(repo, 'targets', 'NG-200', '2.4.1', `${info.hashes['sha256']}.image.bin`);
    const bytes = readFileSync(stored);
    bytes[100] ^= 1;
    writeFileSync(stored, bytes);
    await assert.rejects(updater.downloadTarget(info, join(tmp, 'image.bin')), /hash/i);
  });

  it('a second export keeps the keys and root, publishes version 2, and the client follows it', async function () {
    await publish(TARGETS);
    const updater = client();
    await updater.refresh();
    const second = await publish([...TARGETS, { name: 'NG-200/2.5.0/release.der', bytes: new Uint8Array([1, 2, 3]) }]);
    assert.equal(second.version, 2);
    assert.equal(second.keysCreated, false);
    const again = client();
    await again.refresh();
    assert.ok(await again.getTargetInfo('NG-200/2.5.0/release.der'));
  });

  it('refuses to publish into a repository whose root names other keys', async function () {
    await publish(TARGETS);
    await assert.rejects(exportTufRepository({ ...base, keyDir: join(tmp, 'other-keys'), targets: TARGETS, now: new Date() }), {
      code: 'ERR_CONFLICT_TUF_KEYS',
    });
  });

  it('refuses to publish over a previous publication whose metadata is malformed or has duplicate members', async function () {
    await publish(TARGETS);
    const timestamp = join(repo, 'metadata', 'timestamp.json');
    for (const [text, message] of [
      ['{"signed": {"version": 1}, "signed": {"version": 9}}', /duplicate/],
      ['{"signed": {"version": "1"}}', /not a positive integer/],
      // The next publication's version must be an integer TUF can sign too.
      [`{"signed": {"version": ${Number.MAX_SAFE_INTEGER}}}`, /no version after it/],
      ['[1, 2', /not JSON/],
    ] as const) {
      writeFileSync(timestamp, text);
      await assert.rejects(publish(TARGETS), (e: { code?: string; message: string }) => e.code === 'ERR_TUF_METADATA' && message.test(e.message));
    }
  });

  it('rollback: after seeing version 2, the client refuses the timestamp of version 1', async function () {
    await publish(TARGETS);
    const old = readFileSync(join(repo, 'metadata', 'timestamp.json'));
    await publish(TARGETS);
    await client().refresh();
    writeFileSync(join(repo, 'metadata', 'timestamp.json'), old);
    await assert.rejects(client().refresh(), (e: Error) => e.constructor.name === 'BadVersionError' && /version/.test(e.message));
  });

  it('freeze: a timestamp past its expiry is refused', async function () {
    await publish(TARGETS, new Date(Date.now() - 2 * 86_400_000));
    await assert.rejects(client().refresh(), (e: Error) => e.constructor.name === 'ExpiredMetadataError');
  });

  it('mix-and-match: a snapshot or a targets file of another publication is refused', async function () {
    await publish(TARGETS);
    const snapshot1 = readFileSync(join(repo, 'metadata', '1.snapshot.json'));
    const targets1 = readFileSync(join(repo, 'metadata', '1.targets.json'));
    await publish(TARGETS.slice(0, 1));
    const snapshot2 = join(repo, 'metadata', '2.snapshot.json');
    const targets2 = join(repo, 'metadata', '2.targets.json');
    const own = { snapshot: readFileSync(snapshot2), targets: readFileSync(targets2) };

    // Publication 1's snapshot (validly signed) under publication 2's timestamp.
    writeFileSync(snapshot2, snapshot1);
    await assert.rejects(client(join(tmp, 'c1')).refresh(), /snapshot/i);
    writeFileSync(snapshot2, own.snapshot);

    // Publication 1's targets (validly signed, another target list) under publication 2's snapshot.
    writeFileSync(targets2, targets1);
    await assert.rejects(client(join(tmp, 'c2')).refresh(), (e: Error) => /hash|length|version/i.test(e.message));
    writeFileSync(targets2, own.targets);

    // The same publication, untouched, is accepted: the refusals above were the mixing.
    await client(join(tmp, 'c3')).refresh();
  });
});

// A real release manifest (the fuzz seed `scripts/fuzz-seeds.mjs` signs), as a store would hold it.
const seed = (name: string) => new Uint8Array(readFileSync(fileURLToPath(new URL(`../../../test/fixtures/fuzz/seeds/releases/${name}`, import.meta.url))));
const SEED_RELEASE = seed('release.der');
// A real withdrawal list from the same seeds.
const SEED_WITHDRAWALS = seed('withdrawals.der');

describe('app: firmware export takes what it signs from the release manifests', function () {
  let tmp: string;
  beforeEach(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-fwexport-'));
  });
  afterEach(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The row `firmware release` records for the seed manifest, with `over` changed as an edited store would. */
  function row(over: Partial<ReleaseRecord> = {}): ReleaseRecord {
    const s = parseReleaseManifest(SEED_RELEASE).statement;
    const p = s.predicate;
    return {
      hash: toHex(nodeSha256(SEED_RELEASE)),
      manifest: Buffer.from(SEED_RELEASE).toString('base64'),
      imageName: s.subject[0].name,
      imageSha256: s.subject[0].digest.sha256,
      length: p.length,
      version: p.version,
      securityCounter: p.securityCounter,
      models: p.models,
      expires: p.expires,
      previous: p.previous,
      signer: 'fw',
      time: p.time,
      ...over,
    };
  }

  // Only what `firmware export` reads of a store: its releases, no withdrawal list, and its key folder.
  const store = (rows: ReleaseRecord[], list?: WithdrawalsRecord): Store =>
    ({ keyDir: join(tmp, 'keys'), listReleases: async () => rows, latestWithdrawals: async () => list }) as unknown as Store;
  const exportRows = (rows: ReleaseRecord[], list?: WithdrawalsRecord) =>
    exportFirmware(store(rows, list), { format: 'tuf', dir: join(tmp, 'repo'), images: [], passphrase: 'x', protection: { passphrase: 'x' }, now: new Date() });
  const custom = (i = 0): Record<string, unknown> => {
    const signed = JSON.parse(readFileSync(join(tmp, 'repo', 'metadata', '1.targets.json'), 'utf8')).signed;
    return (Object.values(signed.targets)[i] as { custom: { custody: Record<string, unknown> } }).custom.custody;
  };
  /** The store's record of the seed withdrawal list, with `over` changed. */
  function listRow(over: Partial<WithdrawalsRecord> = {}): WithdrawalsRecord {
    const l = parseWithdrawalList(SEED_WITHDRAWALS).list;
    return {
      number: l.number,
      hash: toHex(nodeSha256(SEED_WITHDRAWALS)),
      list: Buffer.from(SEED_WITHDRAWALS).toString('base64'),
      thisUpdate: l.thisUpdate,
      nextUpdate: l.nextUpdate,
      withdrawn: l.withdrawn,
      ...over,
    };
  }

  it("signs the manifest's counter, models and expiry, not a store row edited to say otherwise", async function () {
    await exportRows([row({ securityCounter: 99, models: ['OTHER-1'], expires: '2099-01-01T00:00:00Z' })]);
    assert.deepEqual([custom().securityCounter, custom().models, custom().expires], [3, ['GW-100'], '2027-01-05T23:44:54Z']);
  });

  it("signs the withdrawal list's own number and dates, and refuses a list that is not the one its row names", async function () {
    const l = parseWithdrawalList(SEED_WITHDRAWALS).list;
    await exportRows([], listRow({ number: 999, nextUpdate: '2099-01-01T00:00:00Z' }));
    assert.deepEqual([custom().number, custom().nextUpdate], [l.number, l.nextUpdate]);
    assert.ok(existsSync(join(tmp, 'repo', 'metadata', '1.targets.json')));
    rmSync(join(tmp, 'repo'), { recursive: true });
    await assert.rejects(exportRows([], listRow({ list: Buffer.from(SEED_RELEASE).toString('base64') })), { code: 'ERR_STORE_CORRUPT' });
  });

  it('refuses a stored release whose manifest is not the release it names (ERR_STORE_CORRUPT)', async function () {
    await assert.rejects(exportRows([row({ hash: 'ab'.repeat(32) })]), { code: 'ERR_STORE_CORRUPT' });
    await assert.rejects(exportRows([row({ hash: '../../x', manifest: Buffer.from('not a manifest').toString('base64') })]), { code: 'ERR_STORE_CORRUPT' });
    assert.equal(existsSync(join(tmp, 'repo')), false);
  });
});
