/**
 * The suite the operators' front ends are tested with (the dashboard in a browser, the
 * super-notebook): notebooks in the platform's folders, one failing on a retired service, and a
 * merge that breaks two of them with one cause (a module the kernel lacks), so that every front
 * end must show that cause as one line.
 */
import { notebook } from '../../src/demo/sample-repo.js';
import { ownQueues, sandbox } from './fixtures.js';

/** The notebooks the merge breaks, in path order. */
export const BROKEN_BY_MERGE = ['02_Data/Plot Stars.ipynb', '02_Data/Query Stars.ipynb'];

/** A sandbox with its own queues and operator token; `good` and `broken` are its two commits. */
export async function operatorSuite(name: string, token: string) {
  const box = await sandbox({ ...ownQueues(name), NBLC_API_TOKEN: token });
  const good = await box.upstream.commit({
    '01_GettingStarted/Hello World.ipynb': notebook(['print("hello")']),
    '02_Data/Query Stars.ipynb': notebook(['import json\nprint(json.dumps({"stars": 3}))']),
    '02_Data/Plot Stars.ipynb': notebook(['print(sum(range(10)))']),
    '03_Science/Fit Model.ipynb': notebook(['x = [1, 2, 3]\nprint(len(x))']),
    '04_HowTos/Retired Service.ipynb': notebook(['raise ConnectionError("the old query service was retired")']),
  });
  const broken = await box.upstream.commit({
    '02_Data/Query Stars.ipynb': notebook(['import astro_datalab_client\nprint(1)']),
    '02_Data/Plot Stars.ipynb': notebook(['import astro_datalab_client', 'print(2)']),
  });
  return { ...box, good, broken };
}
