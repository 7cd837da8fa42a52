export { MlModelPlugin, MlModelPluginOptions, uploadMlModelPermission, MlModelResolver } from './ml-model.plugin';
export { ModelStorage, ModelRejected, expectedWeightBytes } from './ml-model-storage';
