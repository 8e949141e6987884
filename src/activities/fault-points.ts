/**
 * Test-only fault injection for the crash-consistency tests: `RETRAIN_TEST_FAULTS` lists points
 * ("promote:serving,setTraffic:gateway", or "*" for all); each listed point fails once per model,
 * right after its effect on an outside system and before the activity completes, as a worker
 * killed there or a lost reply would. The retry must then find the effect applied and change
 * nothing twice. Unset (always, outside tests), this does nothing.
 */
const fired = new Set<string>();

export class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
}

export function afterEffect(point: string, model: string, env: NodeJS.ProcessEnv = process.env): void {
  const wanted = env.RETRAIN_TEST_FAULTS;
  if (!wanted) return;
  const listed = wanted.split(',').map((p) => p.trim());
  if (!listed.includes('*') && !listed.includes(point)) return;
  const key = `${point}/${model}`;
  if (fired.has(key)) return;
  fired.add(key);
  throw new InjectedFault(`injected fault after ${point} for ${model} (RETRAIN_TEST_FAULTS): the effect is applied, the completion is lost`);
}
