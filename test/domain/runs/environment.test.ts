/**
 * The environment model (src/domain/runs/environment.ts): what a probe's output may record, the changes
 * between two environments, and why a newly failing notebook fails.
 *
 *   node --import tsx --test test/domain/runs/environment.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  changeText,
  environmentChanges,
  fingerprintText,
  newlyFailingChange,
  parseProbeOutput,
} from '../../../src/domain/runs/environment.js';

test('probe output: names normalized (PEP 503), first of a name kept, anything but names and versions dropped', () => {
  const parsed = parseProbeOutput({
    python: '3.11.7',
    packages: {
      Zope_Interface: '6.0',
      'zope.interface': '5.0', // the same distribution further down the path
      numpy: '1.26.4',
      'bad name': '1.0',
      evil: '1.0 ; rm -rf /',
      secretish: 'x'.repeat(100),
      pandas: 2,
      'scikit-learn': '1.4.0.post1+local',
    },
    env: { TOKEN: 'must not matter' },
  });
  assert.deepEqual(parsed, {
    python: '3.11.7',
    packages: { numpy: '1.26.4', 'scikit-learn': '1.4.0.post1+local', 'zope-interface': '6.0' },
  });
  assert.deepEqual(Object.keys(parsed.packages), ['numpy', 'scikit-learn', 'zope-interface']);
  assert.equal(parseProbeOutput({ python: 'Python 3 (with secrets)', packages: {} }).python, null);
  assert.throws(() => parseProbeOutput([]), /not a JSON object/);
  assert.throws(() => parseProbeOutput({ python: '3.12.1' }), /no package list/);
});

test('the fingerprint text does not depend on the order of the packages', () => {
  const a = fingerprintText({ python: '3.12.1', packages: { b: '2', a: '1' } });
  const b = fingerprintText({ python: '3.12.1', packages: { a: '1', b: '2' } });
  assert.equal(a, b);
  assert.equal(a, 'python 3.12.1\na==1\nb==2\n');
});

test('changes: Python first, then packages by name; added from null, removed to null', () => {
  const before = { python: '3.11.7', packages: { astropy: '5.3', numpy: '1.26.4', old: '0.1' } };
  const after = { python: '3.12.1', packages: { astropy: '5.3', dl: '1.2', numpy: '2.0.0' } };
  assert.deepEqual(environmentChanges(before, after), [
    { package: 'python', from: '3.11.7', to: '3.12.1' },
    { package: 'dl', from: null, to: '1.2' },
    { package: 'numpy', from: '1.26.4', to: '2.0.0' },
    { package: 'old', from: '0.1', to: null },
  ]);
  assert.deepEqual(environmentChanges(after, after), []);
});

test('a newly failing notebook: its blob and the environment against its last pass', () => {
  const pass = { runId: 'scheduled-1', commit: 'a'.repeat(40), blob: 'b1', fingerprint: 'f1' };
  const cases = [
    [
      { blob: 'b2', fingerprint: 'f1' },
      'changed',
      'same',
      /^the notebook changed since it last passed \(scheduled-1, aaaaaaaaaaaa\)$/,
    ],
    [{ blob: 'b1', fingerprint: 'f2' }, 'same', 'changed', /^the environment changed since/],
    [{ blob: 'b2', fingerprint: 'f2' }, 'changed', 'changed', /^the notebook and the environment changed since/],
    [
      { blob: 'b1', fingerprint: 'f1' },
      'same',
      'same',
      /^neither the notebook nor the environment changed since .*: a service/,
    ],
    [
      { blob: 'b1', fingerprint: null },
      'same',
      'unknown',
      /^the notebook did not change since .*; the rest is unknown$/,
    ],
  ] as const;
  for (const [now, notebook, environment, text] of cases) {
    const c = newlyFailingChange('a.ipynb', now, pass);
    assert.deepEqual(c, {
      path: 'a.ipynb',
      lastPassed: { runId: 'scheduled-1', commit: pass.commit },
      notebook,
      environment,
    });
    assert.match(changeText(c), text);
  }
  const never = newlyFailingChange('new.ipynb', { blob: 'b', fingerprint: 'f' }, null);
  assert.deepEqual(never, { path: 'new.ipynb', lastPassed: null, notebook: 'unknown', environment: 'unknown' });
  assert.equal(changeText(never), 'never passed before');
});
