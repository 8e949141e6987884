/** File names a trainer writes into its output directory, in the order they are looked for (a module of its own: the CLI's help text reads it without loading a model backend). */
export const ARTIFACT_FILES = { 'retrain-linear/v1': 'model.json', onnx: 'model.onnx' } as const;
