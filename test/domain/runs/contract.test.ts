/**
 * The contract's rules (src/domain/runs/contract.ts): which layer wins, what a bad value says,
 * `.nblc.yml` parsed with a real YAML parser, memory capped, skips that end.
 *   node --import tsx --test test/domain/runs/contract.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  expiredSkip,
  labelQueue,
  labelSubsets,
  parseContractFile,
  parseParameter,
  resolveSettings,
  skipReason,
  type ContractFile,
  type SettingDefaults,
} from '../../../src/domain/runs/contract.js';

const DEFAULTS: SettingDefaults = {
  timeoutS: { value: 3600, source: 'NBLC_NOTEBOOK_TIMEOUT' },
  cellTimeoutS: { value: 600, source: 'NBLC_CELL_TIMEOUT' },
  retries: { value: 0, source: 'default' },
  memory: { value: '4G', source: 'NBLC_NOTEBOOK_MEMORY' },
  memoryMax: '16G',
};
const declared = (metadata: Record<string, unknown>, hasParametersCell = false) => ({ metadata, hasParametersCell });

function fileOf(text: string): ContractFile {
  const parsed = parseContractFile(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.file;
}

test('the notebook wins over .nblc.yml (later globs over earlier), which wins over the run and the service', () => {
  const file = fileOf('notebooks:\n  "a/**":\n    timeout: 100\n    retries: 2\n  "a/b/*.ipynb":\n    timeout: 200\n');
  const s = resolveSettings('a/b/N.ipynb', declared({ nblc: { retries: 1 } }), file, DEFAULTS);
  assert.ok(!('invalid' in s));
  assert.equal(s.timeoutS, 200);
  assert.equal(s.sources.timeoutS, '.nblc.yml "a/b/*.ipynb"');
  assert.equal(s.retries, 1);
  assert.equal(s.sources.retries, 'metadata.nblc.retries');
  assert.equal(s.cellTimeoutS, 600);
  assert.equal(s.sources.cellTimeoutS, 'NBLC_CELL_TIMEOUT');
  const other = resolveSettings('c/N.ipynb', declared({}), file, DEFAULTS);
  assert.ok(!('invalid' in other) && other.timeoutS === 3600);
});

test("nbmake's execution.timeout is the cell timeout where metadata.nblc has none", () => {
  const s = resolveSettings(
    'N.ipynb',
    declared({ execution: { timeout: 30, allow_errors: true } }),
    undefined,
    DEFAULTS,
  );
  assert.ok(!('invalid' in s));
  assert.deepEqual([s.cellTimeoutS, s.sources.cellTimeoutS, s.allowErrors], [30, 'metadata.execution.timeout', true]);
  const own = resolveSettings(
    'N.ipynb',
    declared({ nblc: { cellTimeout: 5 }, execution: { timeout: 30 } }),
    undefined,
    DEFAULTS,
  );
  assert.ok(!('invalid' in own) && own.cellTimeoutS === 5);
});

test('a bad value or an unknown key is invalid, naming the field', () => {
  for (const [nblc, field] of [
    [{ timeout: 'soon' }, 'metadata.nblc.timeout'],
    [{ timeout: 1e9 }, 'metadata.nblc.timeout'],
    [{ memory: 'lots' }, 'metadata.nblc.memory'],
    [{ skip: { until: '2027-01-01' } }, 'metadata.nblc.skip.reason'],
    [{ skip: { reason: 'x', until: 'someday' } }, 'metadata.nblc.skip.until'],
    [{ needs: ['no spaces'] }, 'metadata.nblc.needs.0'],
    [{ timout: 5 }, 'metadata.nblc'],
  ] as const) {
    const s = resolveSettings('N.ipynb', declared({ nblc }), undefined, DEFAULTS);
    assert.ok('invalid' in s, JSON.stringify(nblc));
    assert.ok(s.invalid.includes(field), `${s.invalid} names ${field}`);
  }
});

test('memory is capped by NBLC_NOTEBOOK_MEMORY_MAX, and says so', () => {
  const s = resolveSettings('N.ipynb', declared({ nblc: { memory: '64G' } }), undefined, DEFAULTS);
  assert.ok(!('invalid' in s));
  assert.equal(s.memory, '16G');
  assert.match(s.sources.memory ?? '', /capped by NBLC_NOTEBOOK_MEMORY_MAX/);
  const less = resolveSettings('N.ipynb', declared({ nblc: { memory: '512M' } }), undefined, DEFAULTS);
  assert.ok(!('invalid' in less) && less.memory === '512M');
});

test('a skip holds until the end of its `until` day, then the notebook runs and a failure says it expired', () => {
  const skip = { reason: 'TAP down', until: '2027-03-31', issue: '#7' };
  const day = Date.parse('2027-03-31T12:00:00Z');
  assert.equal(skipReason({ skip, interactive: false }, day), 'TAP down (until 2027-03-31, issue #7)');
  const after = Date.parse('2027-04-01T00:00:01Z');
  assert.equal(skipReason({ skip, interactive: false }, after), null);
  assert.equal(expiredSkip({ skip }, after), 'its skip expired on 2027-03-31 (TAP down)');
  assert.equal(skipReason({ interactive: true }, after), 'interactive: true (never run unattended)');
});

test('.nblc.yml that is not YAML, or has a wrong key, is an error naming it', () => {
  const broken = parseContractFile('notebooks: [');
  assert.ok('error' in broken && broken.error.startsWith('.nblc.yml is not YAML'));
  const wrong = parseContractFile('notebooks:\n  "a/**":\n    retries: many\n');
  assert.ok('error' in wrong && wrong.error.includes('.nblc.yml.notebooks.a/**.retries'), JSON.stringify(wrong));
  const slow = parseContractFile('notebooks:\n  "*a*b*c*d*/**":\n    retries: 1\n');
  assert.ok('error' in slow && /too complex/.test(slow.error));
});

test('label queues: one per label set; a worker polls each subset of its labels', () => {
  assert.equal(labelQueue('nb', ['bigmem', 'auth']), 'nb@auth+bigmem');
  assert.equal(labelQueue('nb', []), 'nb');
  assert.deepEqual(labelSubsets(['b', 'a']), [['a'], ['b'], ['a', 'b']]);
});

test('parameters: NAME=VALUE with NAME an identifier', () => {
  assert.deepEqual(parseParameter('size=5'), { name: 'size', value: '5' });
  assert.deepEqual(parseParameter('q=a=b'), { name: 'q', value: 'a=b' });
  assert.ok('error' in parseParameter('1x=5'));
  assert.ok('error' in parseParameter('size'));
});
