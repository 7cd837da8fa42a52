export {
    MlModelPlugin,
    MlModelPluginOptions,
    uploadMlModelPermission,
    submitRecognitionFeedbackPermission,
    MlModelResolver,
} from './ml-model.plugin';
export { ModelStorage, ModelRejected, expectedWeightBytes } from './ml-model-storage';
export {
    RecognitionFeedbackOptions,
    RecognitionFeedbackResolver,
    RecognitionFeedbackImageController,
    FEEDBACK_REJECTED,
    FEEDBACK_RATE_LIMITED,
    FEEDBACK_SERVER_ERROR,
} from './recognition-feedback';
export { FeedbackStorage, FeedbackRejected, inspectJpeg, checkSubmission } from './recognition-feedback-storage';
