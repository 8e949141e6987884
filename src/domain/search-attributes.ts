import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The custom search attributes that make runs findable in the Temporal UI and by `retrain runs list`
 * (e.g. `RetrainStage = "awaiting_approval"`). Workflows set them, clients query them, the dev server
 * registers them at start (runtime/dev-server.ts, ensureSearchAttributes); on a cluster register them once with
 * `temporal operator search-attribute create` (see README). Imported by workflow code: no Node here.
 */
export const RetrainModel = defineSearchAttributeKey('RetrainModel', SearchAttributeType.KEYWORD);
export const RetrainStage = defineSearchAttributeKey('RetrainStage', SearchAttributeType.KEYWORD);
export const RetrainTrigger = defineSearchAttributeKey('RetrainTrigger', SearchAttributeType.KEYWORD_LIST);
export const RetrainCandidate = defineSearchAttributeKey('RetrainCandidate', SearchAttributeType.KEYWORD);

export const RETRAIN_SEARCH_ATTRIBUTES = [RetrainModel, RetrainStage, RetrainTrigger, RetrainCandidate];
