/** `nblc test` and `nblc schedule` as an operator runs them (a child process, real Temporal). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { notebook } from '../../src/demo/sample-repo.js';
import { ownQueues, sandbox } from '../helpers/fixtures.js';
import { nblcEnv, runNblcAsync } from '../helpers/processes.js';
import { publish, withWorkers } from '../helpers/stack.js';
import { useTestEnv } from '../helpers/temporal.js';

const env = useTestEnv();

describe('nblc test / schedule', () => {
  test('test --wait prints progress and a summary table, and exits 1 when a notebook did not pass', async () => {
    const { config, upstream } = await sandbox(ownQueues('cli-test'));
    const sha = await upstream.commit({
      // Long enough for the CLI's half-second polls to see it running (a trivial one ends first).
      'ok/Fine.ipynb': notebook(['import time\ntime.sleep(2)\nprint(1)']),
      'bad/Broken.ipynb': notebook(['import nosuchmodule']),
      // Passes only with the value a run passes (--parameter size=5) for its `parameters` cell.
      'ok/Param.ipynb': notebook([{ source: 'size = 1000', tags: ['parameters'] }, 'assert size == 5, size']),
    });
    const cliEnv = nblcEnv(env.address, config);
    await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      const all = await runNblcAsync(['test', '--wait'], cliEnv);
      assert.equal(all.code, 1, all.stdout + all.stderr);
      assert.match(all.stdout, /running: \d+\/3 done/);
      assert.match(all.stdout, /^root causes:$/m);
      assert.match(all.stdout, /^ {2}1 notebook: ModuleNotFoundError: No module named 'nosuchmodule'$/m);
      assert.match(all.stdout, /failed\s+\d+\.\ds\s+bad\/Broken\.ipynb/);
      assert.match(all.stdout, /passed\s+\d+\.\ds\s+ok\/Fine\.ipynb/);
      assert.match(all.stdout, /failed\s+\d+\.\ds\s+ok\/Param\.ipynb/);
      assert.match(all.stdout, /1 passed, 2 not passed of 3/);
      assert.match(all.stdout, /report: .*report\.html/);

      // --failed: only what did not pass in the latest completed run of a kind.
      const retry = await runNblcAsync(['test', '--failed', 'manual', '--wait'], cliEnv);
      assert.equal(retry.code, 1, retry.stdout + retry.stderr);
      assert.match(retry.stdout, /re-running 2 notebook\(s\) that did not pass in manual-/);
      assert.match(retry.stdout, /0 passed, 2 not passed of 2/);

      const some = await runNblcAsync(['test', '--include', 'ok/**', '--parameter', 'size=5', '--wait'], cliEnv);
      assert.equal(some.code, 0, some.stdout + some.stderr);
      assert.match(some.stdout, /2 passed, 0 not passed of 2/);
      const badParameter = await runNblcAsync(['test', '--parameter', 'size'], cliEnv);
      assert.equal(badParameter.code, 2);
      assert.match(badParameter.stderr, /--parameter "size": write NAME=VALUE/);

      // --failed: what did not pass in the latest completed run of a kind (the include-run passed).
      const again = await runNblcAsync(['test', '--failed', 'manual', '--wait'], cliEnv);
      assert.match(again.stdout, /every notebook of manual-\S+ passed: nothing to re-run/, again.stdout + again.stderr);
      const none = await runNblcAsync(['test', '--failed'], cliEnv);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /--failed: no scheduled run has completed yet/);

      const bad = await runNblcAsync(['test', '--commit', 'nope'], cliEnv);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--commit takes a full 40-hex commit SHA/);
    });
  });

  test('schedule apply is idempotent; show, pause and unpause report the state', async () => {
    const { config } = await sandbox({ NBLC_TASK_QUEUE: 'cli-schedule', NBLC_REPO_FULL_NAME: 'test/cli-schedule' });
    const cliEnv = nblcEnv(env.address, config, { NBLC_TEST_CRON: '15 4 * * *' });
    const first = await runNblcAsync(['schedule', 'apply'], cliEnv);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /nblc-scheduled-tests created: "15 4 \* \* \*"/);
    const second = await runNblcAsync(['schedule', 'apply'], cliEnv);
    assert.match(second.stdout, /nblc-scheduled-tests updated/);
    assert.match((await runNblcAsync(['schedule', 'pause', '--note', 'maintenance'], cliEnv)).stdout, /paused/);
    const shown = await runNblcAsync(['schedule', 'show'], cliEnv);
    assert.match(shown.stdout, /paused \(maintenance\)/);
    assert.match(shown.stdout, /"hour":\[\{"start":4/);
    assert.match((await runNblcAsync(['schedule', 'unpause'], cliEnv)).stdout, /unpaused/);
    assert.equal(
      (await runNblcAsync(['schedule', 'apply'], { ...cliEnv, NBLC_TEST_CRON: 'off' })).stdout.trim(),
      'NBLC_TEST_CRON is off: no schedule applied',
    );
    await env.client.schedule.getHandle('nblc-scheduled-tests').delete();
  });
});
