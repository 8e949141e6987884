export * from './types.js';
export { LakeDataBackend, createLakeBackend, importIntoLake, type LakeBackendOptions } from './lake/index.js';
