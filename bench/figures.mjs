/** Each benchmark figure as a function; see run.mjs. */
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createCSR,
  parseCSR,
  encodePEM,
  provisionDevices,
  CertificateFactory,
  readCertificateInfo,
  decodePEM,
  createAttestationSigner,
  signAttestationSync,
  createBirths,
  createStatement,
  createBundle,
  encodeBundle,
  createVerifier,
  toHex,
} from '@custody/core';
import { transferDevices } from '@custody/app/handoff';
import { birthHook, provisionInputs } from '@custody/app/provision';
import { NodeCryptoProvider } from '@custody/core/node';
import { EmbeddedStore } from '@custody/store';
import { createCA, createParty } from '@custody/app/ca';
import { loadTemplate, templatesDir, loadKey } from '@custody/app/context';

const provider = new NodeCryptoProvider();
const CLI = fileURLToPath(new URL('../packages/cli/bin/run.js', import.meta.url));
export const PASS = 'bench-passphrase';

function perSec(n, fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function perSecAsync(n, fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Raw node:crypto P-256 limits on one core. */
function nativeFigures(n) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const data = Buffer.alloc(300, 7);
  const sig = sign('sha256', data, privateKey);
  const signPerSec = perSec(n, () => {
    for (let i = 0; i < n; i++) sign('sha256', data, privateKey);
  });
  const verifyPerSec = perSec(n, () => {
    for (let i = 0; i < n; i++) verify('sha256', data, publicKey, sig);
  });
  const devicePerSec = nativeDevicesPerSec(n);
  // One bundle (CA chain checked once): the IDevID signature and three attestation signatures.
  const bundlePerSec = perSec(n, () => {
    for (let i = 0; i < n; i++) for (let j = 0; j < 4; j++) verify('sha256', data, publicKey, sig);
  });
  return { 'native.signPerSec': signPerSec, 'native.verifyPerSec': verifyPerSec, 'native.devicePerSec': devicePerSec, 'native.bundlePerSec': bundlePerSec };
}

/**
 * node:crypto doing only what one provisioned device needs, `n` times: the CSR's public key imported (its fastest
 * form in node:crypto, from JWK coordinates) and its signature checked, the certificate signed, the birth
 * attestation signed; then `after(i, certificate)` (bench/folder.mjs adds the device's file).
 */
export function nativeDevicesPerSec(n, after = () => {}) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const data = Buffer.alloc(300, 7);
  const sig = sign('sha256', data, privateKey);
  const jwk = publicKey.export({ format: 'jwk' });
  return perSec(n, () => {
    for (let i = 0; i < n; i++) {
      verify('sha256', data, createPublicKey({ key: jwk, format: 'jwk' }), sig);
      after(i, sign('sha256', data, privateKey));
      sign('sha256', data, privateKey);
    }
  });
}

/** An embedded store with a root, an issuing CA and a factory party. */
async function makeStore(dir) {
  return setupStore(await EmbeddedStore.init(dir, new Date()));
}

/** Gives a new store (either backend) a root, an issuing CA and a factory party. */
export async function setupStore(store) {
  const tdir = templatesDir(undefined);
  const protection = { passphrase: PASS };
  const now = new Date();
  await createCA(store, { name: 'root', template: await loadTemplate(tdir, 'root-ca'), organization: 'Bench', protection, passphrase: PASS, now });
  await createCA(store, {
    name: 'issuing',
    template: await loadTemplate(tdir, 'issuing-ca'),
    organization: 'Bench',
    issuer: 'root',
    protection,
    passphrase: PASS,
    now,
  });
  await createParty(store, {
    name: 'factory',
    ca: 'root',
    template: await loadTemplate(tdir, 'party'),
    organization: 'Bench',
    protection,
    passphrase: PASS,
    now,
  });
  return store;
}

export async function makeCSRs(n, prefix) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const kp = await provider.generateKeyPair('P-256');
    const serial = `${prefix}${String(i).padStart(7, '0')}`;
    out.push({
      source: serial,
      csr: await createCSR(
        [
          ['O', 'Bench'],
          ['serialNumber', serial],
        ],
        kp.privateKey,
        provider,
      ),
    });
  }
  return out;
}

export async function factoryFor(store) {
  const ca = await store.getCA('issuing');
  const info = readCertificateInfo(decodePEM(ca.certificate, ['CERTIFICATE']));
  const key = loadKey(store, ca.key, PASS);
  return CertificateFactory.create({
    template: await loadTemplate(templatesDir(undefined), 'idevid'),
    issuer: { certificate: info, key },
    provider,
    notBefore: new Date(),
    vars: { organization: 'Bench', model: 'B1' },
  });
}

/** The birth-attestation hook of provisioning, signed by the store's factory party. */
export async function birthFor(store, now) {
  const party = await store.getParty('factory');
  const signer = await createAttestationSigner({ certificate: decodePEM(party.certificate, ['CERTIFICATE']), key: loadKey(store, party.key, PASS), provider });
  return birthHook(createBirths({ manufacturer: 'Bench', signer, to: signer.spkiSha256, now }));
}

async function provisionFigures(n, tmp) {
  const store = await makeStore(join(tmp, 'prov'));
  const factory = await factoryFor(store);
  const inputs = await makeCSRs(n, 'P');
  const now = new Date();
  const opts = { factory, registry: store, provider, issuerName: 'issuing', now, model: 'B1', birth: await birthFor(store, now) };
  // The CLI's path (devices provision): signature checks on worker threads too, for a batch this large.
  const devicesPerSec = await perSecAsync(n, () => provisionInputs(inputs, opts));
  // Certificates alone, from prepared (parsed) requests.
  const prepared = (await makeCSRs(Math.min(n, 2000), 'Q')).map((x) => ({ spki: parseCSR(x.csr).spki, serial: x.source }));
  const certsPerSec = await perSecAsync(n, async () => {
    for (let i = 0; i < n; i++) {
      const p = prepared[i % prepared.length];
      await factory.issue({ spki: p.spki, vars: { serial: p.serial } });
    }
  });
  await store.close();
  return { 'provision.devicesPerSec': devicesPerSec, 'issue.certsPerSec': certsPerSec };
}

/** One device provisioned alone into a store already holding `size` devices: median ms of `reps`. */
async function storeWriteMs(size, reps, tmp, name) {
  const store = await makeStore(join(tmp, name));
  try {
    return await writeMsOn(store, size, reps, name);
  } finally {
    await store.close();
  }
}

/** Fills a prepared store (either backend) to `size` devices, then times `reps` single-device provisionings. */
export async function writeMsOn(store, size, reps, name) {
  const factory = await factoryFor(store);
  const now = new Date();
  const opts = { factory, registry: store, provider, issuerName: 'issuing', now, chunkSize: 2048, birth: await birthFor(store, now) };
  const fill = [];
  for (let i = 0; i < size; i++) {
    const kp = await provider.generateKeyPair('P-256');
    fill.push({ source: `f${i}`, generated: { spki: kp.publicKey.spki, serial: `F${String(i).padStart(7, '0')}` } });
    if (fill.length === 5000 || i === size - 1) await provisionDevices(fill.splice(0), opts);
  }
  const singles = await makeCSRs(reps, `S${name}`);
  const times = [];
  for (const s of singles) {
    const t0 = process.hrtime.bigint();
    await provisionDevices([s], { ...opts, chunkSize: 1 });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

async function coldStartFigures(tmp, reps) {
  const dir = join(tmp, 'cold');
  const store = await makeStore(join(dir, '.custody'));
  await store.close();
  const csrs = await makeCSRs(reps + 1, 'C');
  csrs.forEach((c, i) => writeFileSync(join(dir, `c${i}.csr`), encodePEM(c.csr, 'CERTIFICATE REQUEST')));
  const env = { ...process.env, CUSTODY_PASSPHRASE: PASS };
  const time = (args) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  time([CLI, 'devices', 'provision', '--ca', 'issuing', '--csr', join(dir, `c${reps}.csr`)]); // warm the page cache
  const cli = [];
  const node = [];
  for (let i = 0; i < reps; i++) {
    node.push(time(['-e', '0']));
    cli.push(time([CLI, 'devices', 'provision', '--ca', 'issuing', '--csr', join(dir, `c${i}.csr`)]));
  }
  return { 'cli.coldStartMs': median(cli), 'node.coldStartMs': median(node) };
}

/**
 * Three batches of 10,000 handoffs (one per device) signed and stored, each on its own copy of one store whose
 * 10,000 devices the factory holds, each copy opened afresh as the CLI opens a store. A batch costs a fixed start (the
 * signing worker, the first chunk read and recorded before the pipeline flows) and, in the first batch of a
 * process, the optimizing compiler's warm-up. `handoff.perSec` is the median batch, so that one batch caught in
 * a busy spell of this shared machine does not make the figure; `handoff.firstBatchPerSec` is the first alone.
 */
async function handoffFigures(n, tmp) {
  const dirs = [0, 1, 2].map((i) => join(tmp, `handoff-${i}`));
  const store = await makeStore(dirs[0]);
  const { serials, now } = await handoffOn(store, n);
  await store.close();
  for (const dir of dirs.slice(1)) cpSync(dirs[0], dir, { recursive: true });
  // The copies reach the disk before any batch: a batch's first fdatasync would otherwise flush them.
  spawnSync('sync');
  const rates = [];
  for (const dir of dirs) {
    const copy = await EmbeddedStore.open(dir);
    rates.push(await perSecAsync(n, () => handOn(copy, serials, now)));
  }
  return { 'handoff.perSec': median(rates), 'handoff.firstBatchPerSec': rates[0] };
}

/** `store` (from setupStore, either backend) given `n` devices the factory holds, and the batch handing them all on. */
export async function handoffOn(store, n) {
  await createParty(store, {
    name: 'integrator',
    ca: 'root',
    template: await loadTemplate(templatesDir(undefined), 'party'),
    organization: 'Bench',
    protection: { passphrase: PASS },
    passphrase: PASS,
    now: new Date(),
  });
  const factory = await factoryFor(store);
  const now = new Date();
  const opts = { factory, registry: store, provider, issuerName: 'issuing', now, chunkSize: 2048, birth: await birthFor(store, now) };
  const serials = [];
  const batch = [];
  for (let i = 0; i < n; i++) {
    const kp = await provider.generateKeyPair('P-256');
    const serial = `H${String(i).padStart(7, '0')}`;
    serials.push(serial);
    batch.push({ source: serial, generated: { spki: kp.publicKey.spki, serial } });
    if (batch.length === 5000 || i === n - 1) await provisionDevices(batch.splice(0), opts);
  }
  return { serials, now, run: () => handOn(store, serials, now) };
}

/** The factory hands `serials` to the integrator in one batch (as `devices handoff` does), then `store` closes. */
async function handOn(store, serials, now) {
  const r = await transferDevices(store, { kind: 'handoff', serials, party: 'factory', to: 'integrator', passphrase: PASS, now });
  if (r.results.some((x) => !x.ok)) throw new Error('a bench handoff failed');
  await store.close();
}

/** The handoff batch for profiling (bench/profile-provision.mjs N handoff). */
export async function profileHandoff(n) {
  return handoffOn(await makeStore(join(mkdtempSync(join(tmpdir(), 'custody-prof-')), 'handoff')), n);
}

/** Bundles of three attestations (three signers), verified with the anchors loaded once. */
async function verifyFigures(n) {
  const material = await verifyMaterial(n);
  const verifier = createVerifier({ trustAnchors: [material.rootDer], provider, at: material.at });
  const { texts } = material;
  const warm = await verifier.verify(texts[0]);
  if (!warm.ok) throw new Error(`bench bundle rejected: ${warm.code}`);
  const bundlesPerSec = await perSecAsync(n, async () => {
    for (let i = 0; i < n; i++) {
      const r = await verifier.verify(texts[i % texts.length]);
      if (!r.ok) throw new Error(`bench bundle rejected: ${r.code}`);
    }
  });
  return { figures: { 'verify.bundlesPerSec': bundlesPerSec, 'bundle.bytes': Buffer.byteLength(texts[0]) }, ...material };
}

/**
 * The verify figures' material: a root, an issuing CA, three parties and up to 500 distinct bundles of three
 * attestations (bench/profile-verify.mjs profiles their verification).
 */
export async function verifyMaterial(n) {
  const now = new Date();
  const tdir = templatesDir(undefined);
  const mk = async (template, issuer, vars) => {
    const keys = await provider.generateKeyPair('P-256');
    const f = await CertificateFactory.create({
      template: await loadTemplate(tdir, template),
      issuer,
      provider,
      notBefore: new Date(now.getTime() - 60_000),
      vars,
    });
    const { der } = await f.issue({ spki: keys.publicKey.spki, vars });
    return { keys, der, info: readCertificateInfo(der) };
  };
  const rootKeys = await provider.generateKeyPair('P-256');
  const rf = await CertificateFactory.create({
    template: await loadTemplate(tdir, 'root-ca'),
    issuer: { key: rootKeys.privateKey },
    provider,
    notBefore: new Date(now.getTime() - 60_000),
    vars: { organization: 'Bench', name: 'root' },
  });
  const rootDer = (await rf.issue({ spki: rootKeys.publicKey.spki, vars: { name: 'root' } })).der;
  const rootCA = { certificate: readCertificateInfo(rootDer), key: rootKeys.privateKey };
  const issuing = await mk('issuing-ca', rootCA, { organization: 'Bench', name: 'issuing' });
  const parties = [];
  for (const name of ['factory', 'integrator', 'reseller']) {
    const p = await mk('party', rootCA, { organization: name, name });
    parties.push(await createAttestationSigner({ certificate: p.der, key: p.keys.privateKey, provider }));
  }
  const devFactory = await CertificateFactory.create({
    template: await loadTemplate(tdir, 'idevid'),
    issuer: { certificate: issuing.info, key: issuing.keys.privateKey },
    provider,
    notBefore: new Date(now.getTime() - 60_000),
    vars: { organization: 'Bench', model: 'B1' },
  });
  const claims = [
    { deviceIdentity: { idevid: true }, secureBoot: { enabled: true, method: 'HAB' }, debugPorts: { state: 'locked' } },
    { product: { name: 'Gateway', model: 'G2' }, firmware: { version: '2.4.1', sha256: 'ab'.repeat(32) } },
    {},
  ];
  const texts = [];
  const distinct = Math.min(n, 500);
  for (let i = 0; i < distinct; i++) {
    const kp = await provider.generateKeyPair('P-256');
    const serial = `V${String(i).padStart(7, '0')}`;
    const cert = (await devFactory.issue({ spki: kp.publicKey.spki, vars: { serial } })).der;
    const certSha256 = toHex(provider.digestSync('SHA-256', cert));
    const atts = [];
    let prev = null;
    for (let k = 0; k < 3; k++) {
      const st = createStatement({
        kind: k === 0 ? 'birth' : 'handoff',
        device: `Bench/${serial}`,
        idevidSha256: certSha256,
        seq: k,
        prev,
        from: parties[k].spkiSha256,
        to: parties[(k + 1) % 3].spkiSha256,
        time: now,
        claims: claims[k],
      });
      const der = signAttestationSync(parties[k], st, now);
      atts.push(der);
      prev = toHex(provider.digestSync('SHA-256', der));
    }
    texts.push(encodeBundle(createBundle({ certificate: cert, chain: [issuing.der], attestations: atts })));
  }
  return { rootDer, texts, at: new Date(now.getTime() + 60_000) };
}

/**
 * A pallet: `n` bundle files in one folder, verified through `devices verify --bundle DIR`'s code path (files
 * read, a verifying worker per core beyond the main thread, reports in order), against the native limit of the
 * same verifications on every core, measured alongside.
 */
async function palletFigures(n, tmp, material) {
  const run = await palletRun(n, tmp, material);
  // The first pallet of the process starts its verifying threads, whose code the JIT has yet to optimize (as a
  // CLI run does); the threads are kept, and the next pallet runs on them warm, as this thread is.
  let warm;
  const firstPerSec = await perSecAsync(n, async () => (warm = await run()));
  if (!warm.every((v) => v.report.ok)) throw new Error(`bench pallet bundle rejected: ${warm.find((v) => !v.report.ok).report.code}`);
  const palletPerSec = await perSecAsync(n, async () => {
    const verdicts = await run();
    if (verdicts.length !== n) throw new Error('bench pallet: a verdict is missing');
  });
  await (await import('@custody/app/pallet-threads')).closePalletThreads();
  return {
    'native.bundlePerSecAllCores': await nativeBundleAllCores(n),
    'verify.palletBundlesPerSec': palletPerSec,
    'verify.firstPalletBundlesPerSec': firstPerSec,
  };
}

/**
 * A pallet of `n` bundle files from `material` (verifyMaterial) and its root under `tmp`, and the verification of
 * the whole folder through the CLI's code path (bench/profile-pallet.mjs profiles it).
 */
export async function palletRun(n, tmp, material) {
  const dir = join(tmp, 'pallet');
  mkdirSync(dir);
  const files = [];
  for (let i = 0; i < n; i++) {
    const file = join(dir, `B${String(i).padStart(6, '0')}.json`);
    writeFileSync(file, material.texts[i % material.texts.length]);
    files.push(file);
  }
  const rootFile = join(tmp, 'pallet-root.pem');
  writeFileSync(rootFile, encodePEM(material.rootDer, 'CERTIFICATE'));
  const { verifyBundles } = await import('@custody/app/verify');
  return () => verifyBundles(undefined, { bundles: files, trust: [rootFile], cas: [], crls: [], at: material.at });
}

/** The native verifications of `n` bundles (four each), spread over one thread per core. */
async function nativeBundleAllCores(n) {
  const threads = availableParallelism();
  const each = Math.ceil(n / threads);
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { generateKeyPairSync, sign, verify } = require('node:crypto');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const data = Buffer.alloc(300, 7);
    const sig = sign('sha256', data, privateKey);
    parentPort.once('message', () => {
      for (let i = 0; i < workerData; i++) for (let j = 0; j < 4; j++) verify('sha256', data, publicKey, sig);
      parentPort.postMessage('done');
    });
    parentPort.postMessage('ready');`;
  const workers = Array.from({ length: threads }, () => new Worker(code, { eval: true, workerData: each }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  const t0 = process.hrtime.bigint();
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((r) => {
          w.once('message', r);
          w.postMessage('go');
        }),
    ),
  );
  const perSecAll = (each * threads) / (Number(process.hrtime.bigint() - t0) / 1e9);
  await Promise.all(workers.map((w) => w.terminate()));
  return perSecAll;
}

/** Station mode: one request at a time through a running `devices provision --stdin`, answer awaited. */
async function stationFigure(tmp, n) {
  const dir = join(tmp, 'station');
  const store = await makeStore(join(dir, '.custody'));
  await store.close();
  const csrs = await makeCSRs(n + 5, 'T');
  const child = spawn(process.execPath, [CLI, 'devices', 'provision', '--ca', 'issuing', '--stdin'], {
    cwd: dir,
    env: { ...process.env, CUSTODY_PASSPHRASE: PASS },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (l) => waiting.shift()?.(JSON.parse(l)));
  const ask = (c) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.stdin.write(Buffer.from(c.csr).toString('base64') + '\n');
    });
  for (const c of csrs.slice(0, 5)) await ask(c); // warm up
  const t0 = process.hrtime.bigint();
  for (const c of csrs.slice(5)) {
    const a = await ask(c);
    if (!a.ok) throw new Error(`station refused a request: ${a.error.code}`);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / n;
  child.stdin.end();
  await new Promise((r) => child.on('close', r));
  return ms;
}

/** Appending one log leaf at a given size, median microseconds (the embedded store's log files). */
async function logFigures(tmp, quick) {
  const { LogStore } = await import('@custody/store/log-store');
  const { inclusionProof, MerkleLog, MemoryNodeStore } = await import('@custody/core');
  const appendUs = (size, name) => {
    const log = new LogStore(join(tmp, `log-${name}`));
    const pos = { segment: 1, offset: 0, length: 1 };
    const leaf = (i) => ({ leafIndex: i, attestation: Buffer.from(`attestation ${i}`), pos, seq: 0 });
    for (let at = 0; at < size; at += 5000) log.append(Array.from({ length: Math.min(5000, size - at) }, (_, k) => leaf(at + k)));
    const times = [];
    for (let i = 0; i < 301; i++) {
      const t0 = process.hrtime.bigint();
      log.append([leaf(size + i)]);
      times.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
    log.close();
    return median(times);
  };
  const big = quick ? 100_000 : 1_000_000;
  const mem = new MemoryNodeStore();
  const m = new MerkleLog();
  for (let i = 0; i < big; i++) mem.put(m.appendEntry(Buffer.from(`e${i}`)));
  return {
    'log.appendUsSmall': appendUs(1000, 'small'),
    'log.appendUsLarge': appendUs(100_000, 'large'),
    [`log.proofHashesAt${quick ? '100k' : '1M'}`]: inclusionProof(mem, big >> 1, big).hashes.length,
  };
}

export async function figures({ quick, only }) {
  const tmp = mkdtempSync(join(tmpdir(), 'custody-bench-'));
  const want = (k) => !only || k.startsWith(only);
  const out = {};
  try {
    // The native limits are measured before and after the other figures and averaged: on a shared machine the
    // speed drifts during a run, and a ratio against one reading taken minutes earlier drifts with it.
    const before = nativeFigures(quick ? 2000 : 10000);
    Object.assign(out, before);
    if (want('provision') || want('issue')) Object.assign(out, await provisionFigures(quick ? 1000 : 10000, tmp));
    if (want('provision')) Object.assign(out, await (await import('./folder.mjs')).folderFigures(quick ? 1000 : 10000, tmp));
    if (want('handoff')) Object.assign(out, await handoffFigures(quick ? 1000 : 10000, tmp));
    if (want('verify') || want('bundle') || want('native.bundlePerSecAll')) {
      const v = await verifyFigures(quick ? 1000 : 10000);
      Object.assign(out, v.figures, await palletFigures(quick ? 1000 : 10000, tmp, v));
    }
    if (want('store')) {
      out['store.writeMsSmall'] = await storeWriteMs(1000, quick ? 15 : 31, tmp, 'small');
      out['store.writeMsLarge'] = await storeWriteMs(quick ? 10000 : 100000, quick ? 15 : 31, tmp, 'large');
    }
    if (want('cli') || want('node')) Object.assign(out, await coldStartFigures(tmp, quick ? 5 : 11));
    if (want('station')) out['station.msPerDevice'] = await stationFigure(tmp, quick ? 50 : 300);
    if (want('log')) Object.assign(out, await logFigures(tmp, quick));
    if (want('pg')) Object.assign(out, await (await import('./pg.mjs')).pgFigures({ quick }));
    // hsm.* (bench/hsm.mjs): on a SoftHSM token made for the run; absent, with a note on stderr, without SoftHSM.
    if (want('hsm') || only?.startsWith('hsm')) Object.assign(out, await (await import('./hsm.mjs')).hsmFigures({ quick }));
    if (want('firmware') || want('native.firmware'))
      Object.assign(out, await (await import('./firmware.mjs')).firmwareFigures({ quick, tmp, setupStore, passphrase: PASS }));
    const after = nativeFigures(quick ? 2000 : 10000);
    for (const [k, v] of Object.entries(after)) {
      out[k] = (before[k] + v) / 2;
      if (Math.abs(v - before[k]) > 0.15 * out[k])
        process.stderr.write(
          `bench: ${k} drifted during the run (${Math.round(before[k])} before, ${Math.round(v)} after): the machine is busy; ratios are against the mean\n`,
        );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

/** A prepared provisioning batch for profiling (bench/profile-provision.mjs). */
export async function profileTarget(n) {
  const tmp = mkdtempSync(join(tmpdir(), 'custody-prof-'));
  const store = await makeStore(join(tmp, 'prov'));
  const factory = await factoryFor(store);
  const inputs = await makeCSRs(n, 'P');
  const now = new Date();
  const opts = { factory, registry: store, provider, issuerName: 'issuing', now, model: 'B1', birth: await birthFor(store, now) };
  return { run: () => provisionInputs(inputs, opts).finally(() => rmSync(tmp, { recursive: true, force: true })), inputs, opts, store };
}
