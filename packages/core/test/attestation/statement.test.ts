import assert from 'node:assert/strict';
import {
  createStatement,
  createStatementEncoder,
  encodeStatement,
  formatStatementTime,
  isStatementTime,
  parseStatement,
  predicateTypeOf,
  statementKind,
  type Statement,
} from '../../src/attestation/statement.js';
import { fromUtf8, utf8 } from '../../src/util/bytes.js';

const H = (c: string) => c.repeat(64);

function birth(): Statement {
  return createStatement({
    kind: 'birth',
    device: 'Acme/SN000042',
    idevidSha256: H('a'),
    seq: 0,
    prev: null,
    from: H('b'),
    to: H('c'),
    time: '2026-11-24T15:00:00Z',
    stage: 'factory',
    claims: { secureBoot: { enabled: true, method: 'AHAB' }, debugPorts: { state: 'locked' } },
  });
}

const EXPECTED =
  '{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"Acme/SN000042","digest":{"sha256":"' +
  H('a') +
  '"}}],' +
  '"predicateType":"https://custody.dev/attestation/birth/v1","predicate":{"seq":0,"prev":null,"from":"' +
  H('b') +
  '","to":"' +
  H('c') +
  '","time":"2026-11-24T15:00:00Z","stage":"factory",' +
  '"claims":{"debugPorts":{"state":"locked"},"secureBoot":{"enabled":true,"method":"AHAB"}}}}';

/** The statement JSON with one change applied. */
function mutated(change: (j: any) => void): Uint8Array {
  const j = JSON.parse(EXPECTED);
  change(j);
  return utf8(JSON.stringify(j));
}

describe('attestation statement', () => {
  it('encodes compactly in the fixed key order', () => {
    assert.equal(fromUtf8(encodeStatement(birth())), EXPECTED);
  });

  it('round-trips through parseStatement byte for byte', () => {
    const bytes = encodeStatement(birth());
    const s = parseStatement(bytes);
    assert.deepEqual(s, birth());
    assert.deepEqual(encodeStatement(s), bytes);
    assert.equal(statementKind(s), 'birth');
  });

  it('encodes the same model identically whatever order its keys were built in', () => {
    const a = birth();
    const b = {
      predicate: {
        claims: { debugPorts: { state: 'locked' }, secureBoot: { method: 'AHAB', enabled: true } },
        stage: 'factory',
        time: a.predicate.time,
        to: a.predicate.to,
        from: a.predicate.from,
        prev: null,
        seq: 0,
      },
      predicateType: a.predicateType,
      subject: [{ digest: { sha256: H('a') }, name: 'Acme/SN000042' }],
      _type: a._type,
    } as unknown as Statement;
    assert.deepEqual(encodeStatement(b), encodeStatement(a));
  });

  it('omits stage when absent and writes prev for later attestations', () => {
    const s = createStatement({
      kind: 'handoff',
      device: 'Acme/1',
      idevidSha256: H('a'),
      seq: 2,
      prev: H('d'),
      from: H('b'),
      to: H('c'),
      time: new Date(Date.UTC(2026, 10, 24, 15, 0, 0, 999)),
    });
    const text = fromUtf8(encodeStatement(s));
    assert.match(text, /"predicate":\{"seq":2,"prev":"d{64}","from":"b{64}","to":"c{64}","time":"2026-11-24T15:00:00Z","claims":\{\}\}\}$/);
    assert.equal(s.predicateType, predicateTypeOf('handoff'));
  });

  it('formats times as RFC 3339 with whole seconds', () => {
    assert.equal(formatStatementTime(new Date('2026-01-02T03:04:05.678Z')), '2026-01-02T03:04:05Z');
  });

  const cases: Array<[string, (j: any) => void, RegExp]> = [
    ['not JSON', () => undefined, /attestation statement: not JSON/],
    ['unknown top-level key', (j) => (j.extra = 1), /extra is not a known field/],
    ['missing predicate', (j) => delete j.predicate, /predicate is missing/],
    ['wrong _type', (j) => (j._type = 'https://in-toto.io/Statement/v0.1'), /_type/],
    ['two subjects', (j) => j.subject.push(j.subject[0]), /subject must be an array of exactly one/],
    ['subject not an array', (j) => (j.subject = j.subject[0]), /subject must be an array/],
    ['subject name without serial', (j) => (j.subject[0].name = 'Acme/'), /subject\[0\]\.name/],
    ['subject name not a string', (j) => (j.subject[0].name = 42), /subject\[0\]\.name/],
    ['subject name with control character', (j) => (j.subject[0].name = 'Acme/1\n'), /subject\[0\]\.name/],
    ['subject extra key', (j) => (j.subject[0].uri = 'x'), /subject\[0\]\.uri/],
    ['digest short', (j) => (j.subject[0].digest.sha256 = H('a').slice(2)), /subject\[0\]\.digest\.sha256/],
    ['digest upper case', (j) => (j.subject[0].digest.sha256 = H('A')), /subject\[0\]\.digest\.sha256/],
    ['digest other algorithm', (j) => (j.subject[0].digest.sha512 = H('a')), /subject\[0\]\.digest\.sha512/],
    ['unknown predicateType', (j) => (j.predicateType = 'https://custody.dev/attestation/theft/v1'), /predicateType/],
    ['predicateType not a string', (j) => (j.predicateType = null), /predicateType/],
    ['unknown predicate key', (j) => (j.predicate.note = 'hi'), /predicate\.note is not a known field/],
    ['seq negative', (j) => (j.predicate.seq = -1), /predicate\.seq/],
    ['seq fractional', (j) => (j.predicate.seq = 0.5), /predicate\.seq/],
    ['seq a string', (j) => (j.predicate.seq = '0'), /predicate\.seq/],
    ['birth with seq 1', (j) => ((j.predicate.seq = 1), (j.predicate.prev = H('d'))), /predicate\.seq must be 0/],
    ['handoff with seq 0', (j) => (j.predicateType = predicateTypeOf('handoff')), /predicate\.seq must be > 0/],
    ['prev set at seq 0', (j) => (j.predicate.prev = H('d')), /predicate\.prev must be null/],
    ['prev null at seq 1', (j) => ((j.predicateType = predicateTypeOf('handoff')), (j.predicate.seq = 1)), /predicate\.prev/],
    ['prev short', (j) => ((j.predicateType = predicateTypeOf('activation')), (j.predicate.seq = 3), (j.predicate.prev = 'dd')), /predicate\.prev/],
    ['from bad hex', (j) => (j.predicate.from = H('g')), /predicate\.from/],
    ['to missing', (j) => delete j.predicate.to, /predicate\.to is missing/],
    ['to long', (j) => (j.predicate.to = H('c') + 'cc'), /predicate\.to/],
    ['time with fraction', (j) => (j.predicate.time = '2026-11-24T15:00:00.5Z'), /predicate\.time/],
    ['time with offset', (j) => (j.predicate.time = '2026-11-24T15:00:00+01:00'), /predicate\.time/],
    ['time impossible date', (j) => (j.predicate.time = '2026-02-30T15:00:00Z'), /predicate\.time/],
    ['time 24h', (j) => (j.predicate.time = '2026-11-24T24:00:00Z'), /predicate\.time/],
    ['stage empty', (j) => (j.predicate.stage = ''), /predicate\.stage/],
    ['stage not a string', (j) => (j.predicate.stage = 3), /predicate\.stage/],
    ['claims missing', (j) => delete j.predicate.claims, /predicate\.claims is missing/],
  ];
  for (const [name, change, message] of cases) {
    it(`refuses ${name} with ERR_ATTESTATION_STATEMENT naming the field`, () => {
      const bytes = name === 'not JSON' ? utf8('{"_type":') : mutated(change);
      assert.throws(
        () => parseStatement(bytes),
        (e: any) => e.code === 'ERR_ATTESTATION_STATEMENT' && message.test(e.message),
      );
    });
  }

  // Issue 17: the signed bytes are what another tool reads; JSON.parse alone kept the last "to" of two.
  it('refuses statement bytes with a member name twice (also escaped), and accepts them without', () => {
    const text = fromUtf8(encodeStatement(birth()));
    assert.ok(parseStatement(utf8(text)));
    const twice = text.replace('"to":', `"to":"${H('e')}","to":`);
    assert.throws(() => parseStatement(utf8(twice)), {
      code: 'ERR_ATTESTATION_STATEMENT',
      message: 'attestation statement: duplicate member name "to" in predicate',
    });
    assert.throws(() => parseStatement(utf8(text.replace('"to":', `"\\u0074o":"${H('e')}","to":`))), {
      code: 'ERR_ATTESTATION_STATEMENT',
      message: /duplicate member name "to" in predicate/,
    });
    assert.throws(() => parseStatement(utf8(text.replace('"claims":{', '"claims":{"acme.example/x":{"\\u005f_proto__":{}},'))), {
      code: 'ERR_ATTESTATION_STATEMENT',
      message: /"__proto__" in predicate\.claims\["acme\.example\/x"\]/,
    });
  });

  it('quotes a bounded prefix of an unknown predicateType', () => {
    const long = `https://custody.dev/${'x'.repeat(100_000)}`;
    assert.throws(
      () => parseStatement(mutated((j) => (j.predicateType = long))),
      (e: any) => e.code === 'ERR_ATTESTATION_STATEMENT' && e.message.length < 200,
    );
  });

  it('refuses bytes that are not UTF-8', () => {
    assert.throws(() => parseStatement(Uint8Array.of(0x7b, 0xff, 0x7d)), { code: 'ERR_ATTESTATION_STATEMENT' });
  });

  it('refuses unknown and malformed claims with the claims codes', () => {
    assert.throws(() => parseStatement(mutated((j) => (j.predicate.claims.teleport = { enabled: true }))), { code: 'ERR_CLAIMS_UNKNOWN' });
    assert.throws(() => parseStatement(mutated((j) => (j.predicate.claims.secureBoot.enabled = 'yes'))), { code: 'ERR_CLAIMS_INVALID' });
  });

  it('refuses to encode a malformed model', () => {
    const s = birth();
    s.predicate.seq = 1;
    assert.throws(() => encodeStatement(s), { code: 'ERR_ATTESTATION_STATEMENT' });
  });

  it('does not modify the model it encodes', () => {
    const s = birth();
    const copy = structuredClone(s);
    encodeStatement(s);
    assert.deepEqual(s, copy);
  });

  describe('createStatementEncoder (the batch encoder)', () => {
    const shared = [
      { kind: 'handoff' as const, from: H('b'), to: H('c'), time: '2026-11-24T15:00:00Z' },
      {
        kind: 'handoff' as const,
        from: H('b'),
        to: H('d'),
        time: new Date('2030-01-02T03:04:05.678Z'),
        stage: 'integration "line" 2',
        claims: { product: { name: 'Gateway \u00e9 X' }, secureBoot: { enabled: true } },
      },
      { kind: 'activation' as const, from: H('e'), to: H('e'), time: '2026-11-24T15:00:00Z', claims: { 'x-acme.example/burnIn': { hours: 48 } } },
    ];
    const links = [
      { subject: { name: 'Acme/SN000042', digest: { sha256: H('a') } }, seq: 1, prev: H('f') },
      { subject: { name: 'Ächme "GmbH"/SN-\u2603', digest: { sha256: H('1') } }, seq: 7, prev: H('0') },
    ];

    it('writes the bytes encodeStatement writes for a birth (seq 0, prev null)', () => {
      const encode = createStatementEncoder({
        kind: 'birth',
        from: H('b'),
        to: H('c'),
        time: '2026-11-24T15:00:00Z',
        stage: 'factory',
        claims: { secureBoot: { enabled: true, method: 'AHAB' }, debugPorts: { state: 'locked' } },
      });
      assert.equal(fromUtf8(encode({ subject: { name: 'Acme/SN000042', digest: { sha256: H('a') } }, seq: 0, prev: null })), EXPECTED);
      assert.throws(() => encode({ subject: { name: 'Acme/SN000042', digest: { sha256: H('a') } }, seq: 1, prev: null }), {
        code: 'ERR_ATTESTATION_STATEMENT',
      });
      assert.throws(() => encode({ subject: { name: 'Acme/SN000042', digest: { sha256: H('a') } }, seq: 0, prev: H('f') }), {
        code: 'ERR_ATTESTATION_STATEMENT',
      });
    });

    it('writes the bytes encodeStatement writes for the same fields', () => {
      for (const sh of shared) {
        const encode = createStatementEncoder(sh);
        for (const l of links) {
          const want = encodeStatement(createStatement({ ...sh, device: l.subject.name, idevidSha256: l.subject.digest.sha256, seq: l.seq, prev: l.prev }));
          assert.equal(fromUtf8(encode(l)), fromUtf8(want));
        }
      }
    });

    it('checks the shared fields once, at creation', () => {
      assert.throws(() => createStatementEncoder({ kind: 'handoff', from: H('b'), to: 'not hex', time: '2026-11-24T15:00:00Z' }), {
        code: 'ERR_ATTESTATION_STATEMENT',
      });
      assert.throws(
        () => createStatementEncoder({ kind: 'handoff', from: H('b'), to: H('c'), time: '2026-11-24T15:00:00Z', claims: { favouriteColour: 'blue' } as never }),
        { code: 'ERR_CLAIMS_UNKNOWN' },
      );
    });

    it('refuses bad per-device fields, naming them', () => {
      const encode = createStatementEncoder(shared[0]!);
      const l = links[0]!;
      for (const [bad, field] of [
        [{ ...l, subject: { ...l.subject, name: 'no-slash' } }, 'subject[0].name'],
        [{ ...l, subject: { ...l.subject, name: 'Acme/SN\u0007' } }, 'subject[0].name'],
        [{ ...l, subject: { name: l.subject.name, digest: { sha256: H('A') } } }, 'subject[0].digest.sha256'],
        [{ ...l, seq: 0 }, 'predicate.seq'],
        [{ ...l, seq: 1.5 }, 'predicate.seq'],
        [{ ...l, prev: 'ab' }, 'predicate.prev'],
        [{ ...l, prev: null }, 'predicate.prev'],
      ] as const) {
        assert.throws(
          () => encode(bad),
          (e: Error & { code?: string }) => e.code === 'ERR_ATTESTATION_STATEMENT' && e.message.includes(field),
        );
      }
    });
  });
});

describe('isStatementTime', () => {
  /**
   * The rule as a Date reads it: the fields name that very day of the proleptic Gregorian calendar (set with
   * setUTCFullYear, which unlike Date.UTC does not read years 0 to 99 as 1900 to 1999), and a time of day.
   */
  const byDate = (v: string): boolean => {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(v);
    if (!m) return false;
    const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    const t = new Date(0);
    t.setUTCFullYear(y, mo - 1, d);
    return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
  };
  const p2 = (n: number) => String(n).padStart(2, '0');

  it('agrees with the calendar on every day, month and year edge', () => {
    let checked = 0;
    for (const y of [0, 1, 4, 100, 400, 1600, 1900, 1999, 2000, 2024, 2025, 2026, 2100, 2400, 9999]) {
      for (let mo = 0; mo <= 13; mo++) {
        for (let d = 0; d <= 32; d++) {
          const v = `${String(y).padStart(4, '0')}-${p2(mo)}-${p2(d)}T12:30:45Z`;
          assert.equal(isStatementTime(v), byDate(v), v);
          checked++;
        }
      }
    }
    assert.equal(checked, 15 * 14 * 33);
  });

  it('agrees on the time of day, and refuses other forms', () => {
    for (const [h, mi, s] of [
      [0, 0, 0],
      [23, 59, 59],
      [24, 0, 0],
      [23, 60, 0],
      [23, 59, 60],
      [99, 99, 99],
    ] as const) {
      const v = `2026-11-24T${p2(h)}:${p2(mi)}:${p2(s)}Z`;
      assert.equal(isStatementTime(v), byDate(v), v);
    }
    for (const v of [
      '2026-11-24T15:00:00.000Z',
      '2026-11-24T15:00:00+00:00',
      '2026-11-24 15:00:00Z',
      '+2026-11-24T15:00:00Z',
      '2026-1-24T15:00:00Z',
      '２026-11-24T15:00:00Z',
      '',
      20261124,
      null,
    ]) {
      assert.equal(isStatementTime(v), false, String(v));
    }
    assert.equal(isStatementTime('2026-11-24T15:00:00Z'), true);
  });
});
