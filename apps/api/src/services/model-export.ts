// GET /v1/models/:id/model.keras: the stored LayersModel (a registered base,
// an imported Keras file, or a job's fine-tuned output) written as a Keras 3
// `.keras` file on request. The files are our own copies, checked when stored.
import { checkWeightBytes, parseModelJson } from '../../../shared/ml/model-files.ts';
import { exportKerasModel } from '../../../shared/ml/keras/export.ts';
import { MODEL_JSON, WEIGHTS_FILE } from '../../../shared/ml/stored-model.ts';

export const KERAS_FILE = 'model.keras';

/** `read`: one of the model's stored files by name. 422 model_unsupported for a model Keras cannot express exactly. */
export async function kerasFileOf(read: (file: string) => Promise<Uint8Array>): Promise<Uint8Array> {
  const modelJson = parseModelJson(await read(MODEL_JSON));
  const weights = await read(WEIGHTS_FILE);
  checkWeightBytes(modelJson, weights.byteLength);
  return exportKerasModel(modelJson, weights);
}
