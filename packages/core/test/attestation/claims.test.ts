import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLAIM_VOCABULARY, canonicalJSON, isVendorClaimName, mergeClaims, parseClaims, type Claims } from '../../src/attestation/claims.js';

const H = (c: string) => c.repeat(64);

const EVERY_CLAIM: Claims = {
  secureBoot: { enabled: true, method: 'AHAB' },
  authentication: { enabled: true, method: 'mtls' },
  secureConnections: { enabled: true, protocols: ['TLS1.3'] },
  storageEncryption: { enabled: true, algorithm: 'AES-256-XTS' },
  signedUpdates: { enabled: true, firmwareVersion: '1.2.3', firmwareSha256: H('a') },
  firmware: { version: '1.2.3', sha256: H('a') },
  certificateManagement: { enabled: true, protocol: 'EST' },
  policyManagement: { enabled: false },
  debugPorts: { state: 'locked' },
  hardwarePorts: { state: 'disabled', ports: ['usb0', 'sd'] },
  deviceIdentity: { idevid: true, keyStorage: 'secure-element' },
  monitoring: { enabled: true, endpoint: 'https://siem.example/ingest' },
  product: { name: 'Northwind Gateway', model: 'NG-200' },
  production: { model: 'Sensor X1', lot: 'L2026-11' },
  codeValidation: { enabled: true, policy: 'edge', identities: [{ name: 'owner', kind: 'ca' }], scopes: [{ name: 's', paths: ['/opt/**'] }] },
};

describe('claims vocabulary', () => {
  it('accepts every claim of the vocabulary with every field', () => {
    assert.deepEqual(parseClaims(structuredClone(EVERY_CLAIM)), EVERY_CLAIM);
    assert.deepEqual(Object.keys(EVERY_CLAIM).sort(), Object.keys(CLAIM_VOCABULARY).sort());
  });

  it('accepts claims with only their required fields, and no claims at all', () => {
    assert.deepEqual(parseClaims({ secureBoot: { enabled: false }, debugPorts: { state: 'open' } }), {
      secureBoot: { enabled: false },
      debugPorts: { state: 'open' },
    });
    assert.deepEqual(parseClaims({}), {});
  });

  // Issue 17: copying {"__proto__": ...} by assignment set the copy's prototype, and the member vanished.
  it('refuses a member named __proto__ in a vendor extension (JSON.parse and YAML make it an own property)', () => {
    const claims = JSON.parse('{"acme.example/x":{"a":{"__proto__":{"b":1}}}}');
    assert.throws(() => parseClaims(claims), { code: 'ERR_CLAIMS_INVALID', message: /acme\.example\/x\.a has a member named "__proto__"/ });
  });

  it('quotes a bounded prefix of an unknown claim name and of a long field path', () => {
    assert.throws(
      () => parseClaims({ ['x'.repeat(100_000)]: {} }),
      (e: any) => e.code === 'ERR_CLAIMS_UNKNOWN' && e.message.length < 200,
    );
    assert.throws(
      () => parseClaims({ secureBoot: { enabled: true, ['y'.repeat(100_000)]: 1 } }),
      (e: any) => e.code === 'ERR_CLAIMS_INVALID' && e.message.length < 300,
    );
  });

  it('returns a copy, not the input', () => {
    const input = { hardwarePorts: { state: 'locked', ports: ['usb'] } };
    const out = parseClaims(input) as any;
    out.hardwarePorts.ports.push('sd');
    assert.deepEqual(input.hardwarePorts.ports, ['usb']);
  });

  it('refuses an unknown claim name with ERR_CLAIMS_UNKNOWN naming it', () => {
    assert.throws(
      () => parseClaims({ secureboot: { enabled: true } }),
      (e: any) => e.code === 'ERR_CLAIMS_UNKNOWN' && /"secureboot"/.test(e.message),
    );
    assert.throws(() => parseClaims({ toString: { enabled: true } }), { code: 'ERR_CLAIMS_UNKNOWN' });
  });

  it('accepts vendor extensions <dns-domain>/<name> with any JSON value', () => {
    const claims = { 'acme.example/calibration': { date: '2026-11-01', offsets: [1.5, -2], ok: true, note: null }, 'sub.acme.example/lot': 'L-7' };
    assert.deepEqual(parseClaims(claims), claims);
  });

  it('refuses malformed vendor names as unknown claims', () => {
    for (const name of ['acme/calibration', 'ACME.example/x', '.acme.example/x', 'acme.example/', 'acme.example/a/b', '-acme.example/x', 'acme.example/ x']) {
      assert.equal(isVendorClaimName(name), false, name);
      assert.throws(() => parseClaims({ [name]: 1 }), { code: 'ERR_CLAIMS_UNKNOWN' }, name);
    }
  });

  it('refuses vendor values that JSON cannot carry', () => {
    assert.throws(
      () => parseClaims({ 'acme.example/x': Number.NaN }),
      (e: any) => e.code === 'ERR_CLAIMS_INVALID' && /acme\.example\/x/.test(e.message),
    );
    assert.throws(
      () => parseClaims({ 'acme.example/x': { f: () => 1 } }),
      (e: any) => e.code === 'ERR_CLAIMS_INVALID' && /acme\.example\/x\.f/.test(e.message),
    );
    assert.throws(() => parseClaims({ 'acme.example/x': undefined }), { code: 'ERR_CLAIMS_INVALID' });
  });

  const wrong: Array<[string, unknown, string]> = [
    ['secureBoot', { enabled: 'true' }, 'secureBoot.enabled'],
    ['secureBoot', { method: 'HAB' }, 'secureBoot.enabled'],
    ['secureBoot', { enabled: true, method: '' }, 'secureBoot.method'],
    ['secureBoot', { enabled: true, extra: 1 }, 'secureBoot.extra'],
    ['secureBoot', true, 'secureBoot'],
    ['secureConnections', { enabled: true, protocols: 'TLS1.3' }, 'secureConnections.protocols'],
    ['secureConnections', { enabled: true, protocols: ['TLS1.3', 3] }, 'secureConnections.protocols'],
    ['signedUpdates', { enabled: true, firmwareSha256: 'abc' }, 'signedUpdates.firmwareSha256'],
    ['firmware', { version: '1.0' }, 'firmware.sha256'],
    ['firmware', { version: 1, sha256: H('a') }, 'firmware.version'],
    ['debugPorts', { state: 'closed' }, 'debugPorts.state'],
    ['hardwarePorts', { state: 'locked', ports: [''] }, 'hardwarePorts.ports'],
    ['deviceIdentity', { idevid: true, keyStorage: 'hsm' }, 'deviceIdentity.keyStorage'],
    ['policyManagement', { enabled: 1 }, 'policyManagement.enabled'],
    ['monitoring', { enabled: true, endpoint: 5 }, 'monitoring.endpoint'],
    ['product', { model: 'NG-200' }, 'product.name'],
    ['certificateManagement', { enabled: null }, 'certificateManagement.enabled'],
    ['storageEncryption', { enabled: true, algorithm: ['AES'] }, 'storageEncryption.algorithm'],
    ['authentication', {}, 'authentication.enabled'],
  ];
  for (const [name, value, field] of wrong) {
    it(`refuses ${JSON.stringify(value)} for ${name} with ERR_CLAIMS_INVALID naming ${field}`, () => {
      assert.throws(
        () => parseClaims({ [name]: value }),
        (e: any) => e.code === 'ERR_CLAIMS_INVALID' && e.message.includes(`claims: ${field} `),
      );
    });
  }

  it('refuses claims that are not an object', () => {
    for (const v of [null, [], 'x', 1]) assert.throws(() => parseClaims(v), { code: 'ERR_CLAIMS_INVALID' });
  });

  it('merges a chain field by field, later attestations winning', () => {
    const birth: Claims = {
      secureBoot: { enabled: false, method: 'AHAB' },
      debugPorts: { state: 'open' },
      firmware: { version: '1.0.0', sha256: H('a') },
      'acme.example/calibration': { date: '2026-11-01', by: 'line 3' },
      'acme.example/lot': 'L-1',
    };
    const integration: Claims = {
      secureBoot: { enabled: true },
      debugPorts: { state: 'locked' },
      firmware: { version: '1.1.0', sha256: H('b') },
      product: { name: 'Northwind Gateway' },
      'acme.example/calibration': { date: '2026-11-20' },
      'acme.example/lot': 'L-2',
    };
    const before = structuredClone(birth);
    assert.deepEqual(mergeClaims([birth, integration, {}]), {
      secureBoot: { enabled: true, method: 'AHAB' },
      debugPorts: { state: 'locked' },
      firmware: { version: '1.1.0', sha256: H('b') },
      product: { name: 'Northwind Gateway' },
      'acme.example/calibration': { date: '2026-11-20', by: 'line 3' },
      'acme.example/lot': 'L-2',
    });
    assert.deepEqual(birth, before);
    assert.deepEqual(mergeClaims([]), {});
  });

  it('accepts the example claims file of docs/claims.md', () => {
    const md = readFileSync(new URL('../../../../docs/claims.md', import.meta.url), 'utf8');
    const example = md.split('```json')[1]!.split('```')[0]!;
    assert.equal(Object.keys(parseClaims(JSON.parse(example))).length, 8);
  });

  it('writes canonical JSON with sorted keys at every level', () => {
    assert.equal(canonicalJSON({ b: 1, a: { d: [{ y: 1, x: 2 }], c: 'é' } }), '{"a":{"c":"é","d":[{"x":2,"y":1}]},"b":1}');
  });
});
