/** The plugin's permissions (SuperAdmins hold every permission). */
import { PermissionDefinition } from '@vendure/core';

export const uploadMlModelPermission = new PermissionDefinition({
    name: 'UploadMlModel',
    description: 'Allows publishing and rolling back the product-recognition model of a channel',
});

/**
 * Channel-scoped, for the POS role: sending the cashier's choice with its camera frame.
 * Separate from UploadMlModel so a till can send frames but never read them back or
 * publish a model.
 */
export const submitRecognitionFeedbackPermission = new PermissionDefinition({
    name: 'SubmitRecognitionFeedback',
    description:
        "Allows the POS to send the product the cashier chose, with the camera frame and the recognition model's top three, for the channel's next training",
});
