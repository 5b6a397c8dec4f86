// GET /v1/models/:id/model.keras: the stored LayersModel (a registered base,
// an imported Keras file, or a job's fine-tuned output) written as a Keras 3
// `.keras` file on request. The files are our own copies, checked when stored.
import { checkWeightBytes, isGraphModel, parseModelJson } from '../../../shared/ml/model-files.ts';
import { UnprocessableError } from '../../../shared/errors.ts';
import { exportKerasModel } from '../../../shared/ml/keras/export.ts';
import { MODEL_JSON, WEIGHTS_FILE } from '../../../shared/ml/stored-model.ts';

export const KERAS_FILE = 'model.keras';

/** `read`: one of the model's stored files by name. 422 model_unsupported for a model Keras cannot express exactly. */
export async function kerasFileOf(read: (file: string) => Promise<Uint8Array>): Promise<Uint8Array> {
  const modelJson = parseModelJson(await read(MODEL_JSON));
  // A graph has no Keras form, and a head alone (without its graph) is not the model a user trained.
  if (isGraphModel(modelJson) || modelJson.graphBase) {
    throw new UnprocessableError('model_unsupported', 'A TensorFlow.js Graph model, or a head trained on one, has no Keras file: download model.json (and base/model.json) instead', { fault: 'graph_model' });
  }
  const weights = await read(WEIGHTS_FILE);
  checkWeightBytes(modelJson, weights.byteLength);
  return exportKerasModel(modelJson, weights);
}
