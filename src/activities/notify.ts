import { ApplicationFailure } from '@temporalio/activity';
import { NotifyError, type Notifier } from '../backends/notify/notifier.js';
import type { PipelineActivities } from './contracts.js';

export function notifyActivities(notifier: Notifier): Pick<PipelineActivities, 'notify'> {
  return {
    async notify(notification) {
      try {
        await notifier.send(notification);
      } catch (err) {
        if (err instanceof NotifyError && !(err as NotifyError & { retryable?: boolean }).retryable) {
          throw ApplicationFailure.nonRetryable(err.message, 'NotifyRejected');
        }
        throw err;
      }
    },
  };
}
