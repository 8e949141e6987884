import { z } from 'zod';

/**
 * How a version registered from outside (`retrain models register`, a notebook's model) reaches
 * production: by a person running `retrain deploy`, or, seed 001's "registry event → deployment",
 * by the next monitor check.
 */
export const deploy = z
  .object({
    registered: z
      .enum(['manual', 'auto'], { error: 'expected manual or auto' })
      .default('manual')
      .describe(
        'manual: a registered version waits for `retrain deploy`. auto: each monitor check deploys the newest version registered from outside that is newer than the champion and that no deployment has tried yet, through the gates, approval and canary as `retrain deploy` does; a rejected or rolled-back version is not tried again.',
      ),
  })
  .strict()
  .describe('Deployment of versions trained elsewhere');
