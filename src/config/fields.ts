import { z } from 'zod';

/** Number fields the policies share, each refusing with one message that names what was expected. */

export const probability = (what: string) =>
  z.number({ error: `expected ${what} as a number from 0 to 1` }).min(0, { error: `expected ${what} from 0 to 1` }).max(1, {
    error: `expected ${what} from 0 to 1`,
  });

export const positiveInt = (what: string) =>
  z.number({ error: `expected ${what} as a whole number` }).int({ error: `expected ${what} as a whole number` }).min(1, {
    error: `expected ${what} of at least 1`,
  });
