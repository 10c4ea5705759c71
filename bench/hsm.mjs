#!/usr/bin/env node
/**
 * The PKCS#11 figures (`hsm.*`), on a SoftHSM token made for the run in a temp folder (SOFTHSM2_CONF):
 *
 *   hsm.signPerSec             raw C_SignInit + C_Sign (CKM_ECDSA, P-256) over a ready digest, one session, with
 *                              the token object
 *   hsm.sessionSignPerSec      the same with the key's session copy (C_CopyObject, CKA_TOKEN false), which
 *                              custody signs with: SoftHSM locks and re-reads a token object's file every time
 *   hsm.keySignPerSec          signatures through custody's token key (digest in software, low-S, copy)
 *   hsm.devicePerSec           the token doing only what one provisioned device needs of it (the CSR check in
 *                              software, then the certificate and the birth attestation signed in the token,
 *                              the fastest way it signs): the limit provisioning reads against
 *   hsm.provision.devicesPerSec provisioning (CSR in, IDevID and birth attestation out, stored) with the issuing CA
 *                              and the factory party's keys in the token; target >= 0.50x hsm.devicePerSec. The
 *                              median of three batches, as handoff.perSec: the first batch of a process carries
 *                              the optimizing compiler's warm-up, which 2,000 devices do not amortise (that batch
 *                              ran at about half the speed of the next two here), while hsm.devicePerSec is warm
 *   hsm.provision.firstBatchPerSec the first of those batches alone
 *   hsm.provision.unsignedDevicesPerSec
 *                              the same provisioning with keys whose signatures cost nothing (one the token made,
 *                              returned again): everything but the token's work, so the most that moving the
 *                              token's work to other threads could reach; alternating with the one above (medians)
 *   hsm.twoThreadSignPerSec    the token key signing on this thread and on one worker thread at once, each with its
 *                              own session and session copy, together: against hsm.keySignPerSec, whether sessions
 *                              per thread let the token's work run side by side here
 *
 * `node bench/hsm.mjs [--quick] [--json]` after `npx tsc --build`; `hsmFigures()` for run.mjs. Without SoftHSM
 * the figures are absent and the reason goes to stderr.
 */
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { CertificateFactory, createAttestationSigner, createBirths, readCertificateInfo } from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { EmbeddedStore } from '@custody/store';
import { loadTemplate, templatesDir } from '@custody/app/context';
import { birthHook, provisionInputs } from '@custody/app/provision';
import { generateTokenKey } from '@custody/app/pkcs11/generate-key';
import { closeTokenSessions, openTokenSession } from '@custody/app/pkcs11/token-session';
import { makeCSRs } from './figures.mjs';

const provider = new NodeCryptoProvider();
const MODULES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];
const PIN = '1234';

function perSec(n, fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** A fresh token in `dir`; SOFTHSM2_CONF points at it before the module is first opened. */
function makeToken(dir) {
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
  const r = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', PIN, '--so-pin', '5678'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench: softhsm2-util --init-token failed: ${r.stderr.trim()}`);
  writeFileSync(join(dir, 'pin'), `${PIN}\n`, { mode: 0o600 });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Raw signatures per second of the token over a ready digest (C_SignInit + C_Sign, nothing else), and the same
 * through custody's key object, in alternating rounds (medians): on a shared machine the speed drifts, and
 * the overhead is smaller than the drift between two readings taken a second apart.
 */
function signFigures(uri, env, key, n) {
  const s = openTokenSession(uri, env);
  const { lib, session, pkcs11 } = s;
  // The token object itself, and the session copy custody signs with (token-key.ts `signingHandle`).
  const find = (onToken) => {
    lib.C_FindObjectsInit(session, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
      { type: pkcs11.CKA_LABEL, value: Buffer.from('issuing') },
      { type: pkcs11.CKA_TOKEN, value: onToken },
    ]);
    const [h] = lib.C_FindObjects(session, 1);
    lib.C_FindObjectsFinal(session);
    return h;
  };
  const handle = find(true);
  const copy = find(false);
  const data = Buffer.alloc(300, 7);
  const digest = createHash('sha256').update(data).digest();
  const out = Buffer.alloc(64);
  const mechanism = { mechanism: pkcs11.CKM_ECDSA };
  const signWith = (h) => () => {
    lib.C_SignInit(session, mechanism, h);
    lib.C_Sign(session, digest, out);
  };
  const signToken = signWith(handle);
  const signCopy = copy ? signWith(copy) : signToken;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const csrSig = sign('sha256', data, privateKey);
  const jwk = publicKey.export({ format: 'jwk' });
  const rounds = 7;
  const m = Math.max(1, Math.floor(n / rounds));
  const raw = [];
  const sessionRounds = [];
  const viaKey = [];
  const device = [];
  for (let r = 0; r < rounds; r++) {
    raw.push(
      perSec(m, () => {
        for (let i = 0; i < m; i++) signToken();
      }),
    );
    sessionRounds.push(
      perSec(m, () => {
        for (let i = 0; i < m; i++) signCopy();
      }),
    );
    viaKey.push(
      perSec(m, () => {
        for (let i = 0; i < m; i++) provider.signSync(key, data);
      }),
    );
    // One device: the CSR's key imported and its signature checked in software, then two token signatures,
    // each the fastest way the token signs with the key (its session copy where it allows one).
    device.push(
      perSec(m, () => {
        for (let i = 0; i < m; i++) {
          verify('sha256', data, createPublicKey({ key: jwk, format: 'jwk' }), csrSig);
          createHash('sha256').update(data).digest();
          signCopy();
          createHash('sha256').update(data).digest();
          signCopy();
        }
      }),
    );
  }
  return { signPerSec: median(raw), sessionSignPerSec: median(sessionRounds), keySignPerSec: median(viaKey), devicePerSec: median(device) };
}

/**
 * Signatures per second of `key` signing on this thread while the same key, opened by `uri` in a session of a
 * worker thread (hsm-sign-worker.mjs), signs as many there: both threads' signatures over the time until both
 * are done; the median of `rounds` rounds.
 */
async function twoThreadSignPerSec(uri, module, key, n, rounds) {
  const worker = new Worker(new URL('./hsm-sign-worker.mjs', import.meta.url), { workerData: { uri, module } });
  const next = () =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  await next();
  const data = Buffer.alloc(300, 7);
  const together = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const there = next();
      const t0 = process.hrtime.bigint();
      worker.postMessage(n);
      for (let i = 0; i < n; i++) provider.signSync(key, data);
      await there;
      together.push((2 * n) / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
  } finally {
    await worker.terminate();
  }
  return median(together);
}

/** The `hsm.*` figures, or {} (and the reason on stderr) where SoftHSM is not installed. */
export async function hsmFigures({ quick = false } = {}) {
  const module = MODULES.find((m) => existsSync(m));
  if (!module || spawnSync('softhsm2-util', ['--version']).status !== 0) {
    process.stderr.write('bench: no SoftHSM (apt-get install softhsm2): hsm.* figures skipped\n');
    return {};
  }
  const n = quick ? 500 : 5000;
  const devices = quick ? 200 : 2000;
  const tmp = mkdtempSync(join(tmpdir(), 'custody-bench-hsm-'));
  const savedConf = process.env.SOFTHSM2_CONF;
  try {
    makeToken(tmp);
    const env = { env: { ...process.env, CUSTODY_PKCS11_MODULE: module }, readFile: (f) => readFileSync(f), curve: 'P-256' };
    const uri = (object) => `pkcs11:token=bench;object=${object}?pin-source=file:${join(tmp, 'pin')}`;
    const tdir = templatesDir(undefined);
    const now = new Date();
    // A root in a file would do as well; in the token it shows the whole chain signed there.
    const root = generateTokenKey(uri('root'), env).key;
    const issuing = generateTokenKey(uri('issuing'), env).key;
    const party = generateTokenKey(uri('factory'), env).key;
    const vars = { organization: 'Bench', name: 'bench' };
    const rootFactory = await CertificateFactory.create({
      template: await loadTemplate(tdir, 'root-ca'),
      issuer: { key: root },
      provider,
      notBefore: now,
      vars,
    });
    const rootInfo = readCertificateInfo((await rootFactory.issue({ spki: root.spki, vars })).der);
    const caFactory = await CertificateFactory.create({
      template: await loadTemplate(tdir, 'issuing-ca'),
      issuer: { certificate: rootInfo, key: root },
      provider,
      notBefore: now,
      vars,
    });
    const issuingInfo = readCertificateInfo((await caFactory.issue({ spki: issuing.spki, vars })).der);
    const partyFactory = await CertificateFactory.create({
      template: await loadTemplate(tdir, 'party'),
      issuer: { certificate: rootInfo, key: root },
      provider,
      notBefore: now,
      vars,
    });
    const partyCert = (await partyFactory.issue({ spki: party.spki, vars })).der;

    const signs = signFigures(uri('issuing'), env, issuing, n);

    const twoThreads = await twoThreadSignPerSec(uri('issuing'), module, issuing, Math.floor(n / 5), quick ? 3 : 5);

    /** Devices provisioned per second into a new store with these keys. */
    const provisionPerSec = async (issuingKey, partyKey, round) => {
      const store = await EmbeddedStore.init(join(tmp, `store-${round}`), now);
      const factory = await CertificateFactory.create({
        template: await loadTemplate(tdir, 'idevid'),
        issuer: { certificate: issuingInfo, key: issuingKey },
        provider,
        notBefore: now,
        vars: { organization: 'Bench', model: 'B1' },
      });
      const signer = await createAttestationSigner({ certificate: partyCert, key: partyKey, provider });
      const birth = birthHook(createBirths({ manufacturer: 'Bench', signer, to: signer.spkiSha256, now }));
      const inputs = await makeCSRs(devices, `H${round}-`);
      const t0 = process.hrtime.bigint();
      await provisionInputs(inputs, { factory, registry: store, provider, issuerName: 'issuing', now, model: 'B1', birth });
      const perSecond = devices / (Number(process.hrtime.bigint() - t0) / 1e9);
      await store.close();
      return perSecond;
    };
    // Keys that hand back one signature the token made (low-S, the right length): every device costs what it
    // does with the token key, less the token's work.
    const made = issuing.signSync(new Uint8Array(1));
    const unsigned = (k) => ({ curve: k.curve, spki: k.spki, signSync: () => made });
    const inToken = [];
    const withoutToken = [];
    for (let r = 0; r < 3; r++) {
      inToken.push(await provisionPerSec(issuing, party, `t${r}`));
      withoutToken.push(await provisionPerSec(unsigned(issuing), unsigned(party), `u${r}`));
    }
    return {
      'hsm.signPerSec': signs.signPerSec,
      'hsm.sessionSignPerSec': signs.sessionSignPerSec,
      'hsm.keySignPerSec': signs.keySignPerSec,
      'hsm.devicePerSec': signs.devicePerSec,
      'hsm.provision.devicesPerSec': median(inToken),
      'hsm.provision.firstBatchPerSec': inToken[0],
      'hsm.provision.unsignedDevicesPerSec': median(withoutToken),
      'hsm.twoThreadSignPerSec': twoThreads,
    };
  } finally {
    closeTokenSessions();
    if (savedConf === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = savedConf;
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, quick: { type: 'boolean' } } });
  const r = await hsmFigures({ quick: values.quick === true });
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    const ratios = {
      'hsm.sessionSignPerSec': 'hsm.signPerSec',
      'hsm.keySignPerSec': 'hsm.sessionSignPerSec',
      'hsm.provision.devicesPerSec': 'hsm.devicePerSec',
      'hsm.provision.firstBatchPerSec': 'hsm.devicePerSec',
      'hsm.provision.unsignedDevicesPerSec': 'hsm.devicePerSec',
      'hsm.twoThreadSignPerSec': 'hsm.keySignPerSec',
    };
    for (const [k, v] of Object.entries(r)) {
      const base = ratios[k];
      process.stdout.write(`${k.padEnd(37)} ${String(Math.round(v)).padStart(8)}${base ? `  ${(v / r[base]).toFixed(2)}x ${base}` : ''}\n`);
    }
  }
}
