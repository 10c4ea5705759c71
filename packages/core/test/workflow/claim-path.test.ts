import assert from 'node:assert/strict';
import type { Claims } from '../../src/attestation/claims.js';
import { parseClaimPath, resolveClaimPath, type ClaimPath } from '../../src/workflow/claim-path.js';
import { addDuration, formatDuration, parseISODuration } from '../../src/workflow/duration.js';

function path(text: string): ClaimPath {
  const p = parseClaimPath(text);
  assert.ok(!('problem' in p), JSON.stringify(p));
  return p;
}

describe('workflow: claim paths', () => {
  it('parses vocabulary claims and fields, and refuses unknown ones', () => {
    assert.deepEqual(path('secureBoot'), { text: 'secureBoot', vendor: false, claim: 'secureBoot' });
    assert.deepEqual(path('debugPorts.state'), { text: 'debugPorts.state', vendor: false, claim: 'debugPorts', field: 'state' });
    assert.match((parseClaimPath('secureBoot.enable') as { problem: string }).problem, /not a field of claim secureBoot/);
    assert.match((parseClaimPath('debugPorts.state.x') as { problem: string }).problem, /not a field/);
    assert.match((parseClaimPath('tamper') as { problem: string }).problem, /unknown claim "tamper"/);
    assert.match((parseClaimPath('Acme/x') as { problem: string }).problem, /not a vendor claim path/);
  });

  it('resolves vendor paths against the longest claim name present', () => {
    const claims = { 'acme.example/cal.v2': { offset: 3 }, 'acme.example/line': { station: 4 } } as Claims;
    assert.equal(resolveClaimPath(claims, path('acme.example/cal.v2.offset')), 3);
    assert.equal(resolveClaimPath(claims, path('acme.example/line.station')), 4);
    assert.deepEqual(resolveClaimPath(claims, path('acme.example/line')), { station: 4 });
    assert.equal(resolveClaimPath(claims, path('acme.example/line.missing')), undefined);
    assert.equal(resolveClaimPath(claims, path('acme.example/other')), undefined);
    assert.equal(resolveClaimPath({ firmware: { version: '1', sha256: 'a'.repeat(64) } }, path('firmware.version')), '1');
    assert.equal(resolveClaimPath({}, path('firmware.version')), undefined);
  });
});

describe('workflow: ISO 8601 durations', () => {
  it('parses whole-number durations and refuses the rest', () => {
    assert.deepEqual(parseISODuration('P1Y2M3W4DT5H6M7S'), { years: 1, months: 2, weeks: 3, days: 4, hours: 5, minutes: 6, seconds: 7 });
    for (const bad of ['P', 'PT', 'P0D', 'P1.5D', '1D', 'P1DT', 'p1d', 'P1H']) assert.equal(parseISODuration(bad), undefined, bad);
    assert.equal(formatDuration(parseISODuration('P1YT12H')!), 'P1YT12H');
  });

  it('adds months on the UTC calendar, clamping to the month end', () => {
    const jan31 = new Date('2027-01-31T10:00:00Z');
    assert.equal(addDuration(jan31, parseISODuration('P1M')!).toISOString(), '2027-02-28T10:00:00.000Z');
    assert.equal(addDuration(new Date('2028-02-29T00:00:00Z'), parseISODuration('P1Y')!).toISOString(), '2029-02-28T00:00:00.000Z');
    assert.equal(addDuration(jan31, parseISODuration('P1WT1H')!).toISOString(), '2027-02-07T11:00:00.000Z');
  });
});
