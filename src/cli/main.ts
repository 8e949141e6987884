// The command modules load their heavy dependencies (Temporal, DuckDB, webpack, Fastify, zod) inside
// their actions: `--help` and the local commands start without them.
import { Command } from 'commander';
import { registerApplyCommand } from './commands/apply.js';
import { registerCodecServerCommand } from './commands/codec-server.js';
import { registerConfigCommands } from './commands/config.js';
import { registerDataCommands } from './commands/data.js';
import { registerDeployCommand } from './commands/deploy.js';
import { registerLearningCommand } from './commands/learning.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerRunCommands } from './commands/runs.js';
import { registerOperationCommands } from './commands/operations.js';
import { registerRegistryCommands } from './commands/registry.js';
import { registerReportCommands } from './commands/report.js';
import { registerBacktestCommand } from './commands/backtest.js';
import { registerBundleCommand } from './commands/bundle.js';
import { registerDevCommand } from './commands/dev.js';
import { registerWorkerCommand } from './commands/worker.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSimulateCommand } from './commands/simulate.js';
import { registerViolationsCommand } from './commands/violations.js';

const program = new Command('retrain')
  .description('Durable retraining pipelines for production ML models, on Temporal')
  .option('-c, --config <file>', 'model file (default: $RETRAIN_CONFIG or ./retrain.yaml)')
  .option('--json', 'machine-readable output')
  .showHelpAfterError()
  .exitOverride();

registerDevCommand(program);
registerWorkerCommand(program);
registerBundleCommand(program);
registerConfigCommands(program);
registerApplyCommand(program);
registerDoctorCommand(program);
registerRunCommands(program);
registerDeployCommand(program);
registerLearningCommand(program);
registerOperationCommands(program);
registerRegistryCommands(program);
registerReportCommands(program);
registerViolationsCommand(program);
registerBacktestCommand(program);
registerDataCommands(program);
registerServeCommand(program);
registerSimulateCommand(program);
registerCodecServerCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const code = (err as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('commander.')) {
    // commander has already printed help or the usage error.
    process.exitCode = code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help' ? 0 : 2;
  } else {
    // Loaded on failure only: it knows every error class, the Temporal client's among them.
    const { exitCodeFor } = await import('./output.js');
    const { code: exit, message } = exitCodeFor(err);
    process.stderr.write(`retrain: ${message}\n`);
    process.exitCode = exit;
  }
}
