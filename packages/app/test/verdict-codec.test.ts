/**
 * The encoding a pallet's verifying threads answer with (verdict-codec.ts): the reports it gives back are the ones
 * encoded, key order included (the --json output is the same text), whatever the checks hold.
 */
import assert from 'node:assert/strict';
import type { VerificationReport } from '@custody/core';
import { decodeVerdicts, encodeVerdicts, type EncodableVerdict } from '../src/verdict-codec.js';

const report = (serial: string, more: Partial<VerificationReport> = {}): VerificationReport => ({
  ok: true,
  effectiveClaims: { secureBoot: { enabled: true } },
  checks: [
    { name: 'bundle', ok: true, reason: 'version 1, 3 attestation(s), 2 certificate(s)' },
    { name: 'device: certificate path', ok: true, reason: `"CN=${serial}" <- "CN=Issuing"` },
    { name: 'attestation 0: signature', ok: true, attestation: 0 },
    { name: 'attestation 0: signer', ok: true, reason: '"CN=Factory", trusted through "CN=Root"', attestation: 0 },
  ],
  device: `Acme/${serial}`,
  custodian: 'ab'.repeat(32),
  ...more,
});

/** Through the codec and a structured clone, as between threads. */
const roundTrip = (vs: EncodableVerdict[]): EncodableVerdict[] => decodeVerdicts(structuredClone(encodeVerdicts(vs)) as ReturnType<typeof encodeVerdicts>);

describe('pallet verdict codec', () => {
  it('gives back the same reports, as the same JSON text', () => {
    const failed: VerificationReport = {
      ok: false,
      code: 'ERR_VERIFY_LINK',
      effectiveClaims: {},
      checks: [
        { name: 'bundle', ok: true, reason: 'version 1, 3 attestation(s), 2 certificate(s)' },
        { name: 'attestation 1: link', ok: false, code: 'ERR_VERIFY_LINK', reason: '"prev" is 00..., but attestation 0 hashes to 11...', attestation: 1 },
      ],
    };
    const vs = [
      { file: 'a.json', report: report('A1') },
      { file: 'b.json', report: report('A2') },
      { file: 'c.json', report: failed },
      { file: 'd.json', report: report('A3') },
    ];
    const back = roundTrip(vs);
    assert.deepEqual(back, vs);
    assert.equal(JSON.stringify(back), JSON.stringify(vs));
  });

  it('carries what a report holds besides its checks (a pending checkpoint with bytes and dates)', () => {
    const pendingCheckpoint = {
      candidate: { checkpoint: { origin: 'acme.example/log', size: 12, root: new Uint8Array([1, 2, 3]) }, note: 'note', earlier: [] },
      at: 3,
    } as unknown as VerificationReport['pendingCheckpoint'];
    const vs = [{ file: 'a.json', report: report('A1', { ok: false, code: 'ERR_VERIFY_LOG_PENDING', pendingCheckpoint }) }];
    assert.deepEqual(roundTrip(vs), vs);
  });

  it('passes a piece through as it is when a check holds what it does not encode', () => {
    const odd = report('A1');
    const vs = [
      { file: 'a.json', report: { ...odd, checks: [...odd.checks, { name: 'x', ok: true, attestation: 1.5 }] } },
      { file: 'b.json', report: { ...odd, checks: [{ name: 'y', ok: true, extra: 1 } as never] } },
    ];
    assert.equal(encodeVerdicts(vs), vs);
    assert.deepEqual(roundTrip(vs), vs);
  });

  it('keeps reports of different lengths and shapes apart (a repeat is only the same check at the same place)', () => {
    const short: VerificationReport = {
      ok: false,
      code: 'ERR_BUNDLE_MALFORMED',
      effectiveClaims: {},
      checks: [{ name: 'bundle', ok: false, code: 'ERR_BUNDLE_MALFORMED', reason: 'bundle: not JSON' }],
    };
    const vs = [
      { file: 'a.json', report: report('A1') },
      { file: 'b.json', report: short },
      { file: 'c.json', report: report('A1') },
      { file: 'd.json', report: report('A1') },
    ];
    assert.equal(JSON.stringify(roundTrip(vs)), JSON.stringify(vs));
  });
});
