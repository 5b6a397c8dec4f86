// Where a registered model's files come from: a TensorFlow.js LayersModel or
// Graph model (model.json and its shards) or a Keras file (.keras or legacy .h5). A Keras
// file is parsed, converted and built in the model inspector's child process;
// this event loop only moves its bytes and re-checks the child's answer.
import type { checkS3Source } from '../../../shared/net/outbound-url.ts';
import { UnprocessableError } from '../../../shared/errors.ts';
import type { ModelInspector } from '../../../shared/ml/model-inspector.ts';
import { checkWeightBytes, parseModelJson } from '../../../shared/ml/model-files.ts';
import type { ModelSummary } from '../../../shared/ml/model-summary.ts';
import { MODEL_JSON, readModelFiles, type LoadedFiles } from '../../../shared/ml/stored-model.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';
import type { RegisterModelBody } from '../schemas/models.ts';

export interface SourceLimits {
  maxParams: number;
  maxBytes: number;
  maxLayers: number;
}

/** A zip or an HDF5 file holds a little more than the weights it declares. */
const KERAS_FILE_OVERHEAD = 16 * 2 ** 20;

/** A Keras file when the body says so, or when the URI names anything but model.json. */
export function isKerasSource(body: Pick<RegisterModelBody, 'uri' | 'format'>): boolean {
  const modelJson = body.uri.endsWith(`/${MODEL_JSON}`);
  const tfjs = body.format === 'layers-model' || body.format === 'graph-model';
  if (tfjs && !modelJson) throw new UnprocessableError('model_invalid', 'A TensorFlow.js model is registered by the URI of its model.json', { fault: 'format_mismatch', format: body.format });
  return body.format ? !tfjs : !modelJson;
}

/** A model.json that is not what the body's `format` said: refused rather than registered as the other kind. */
function checkStatedFormat(body: Pick<RegisterModelBody, 'format'>, files: LoadedFiles): void {
  const found = files.modelJson.format === 'graph-model' ? 'graph-model' : 'layers-model';
  if (body.format && body.format !== found) {
    throw new UnprocessableError('model_invalid', `The body says format ${JSON.stringify(body.format)}, but model.json is a TensorFlow.js ${found === 'graph-model' ? 'Graph model' : 'LayersModel'}`, { fault: 'format_mismatch', format: body.format, found });
  }
}

export async function loadModelSource(
  deps: { storage: Storage; inspector: ModelInspector },
  body: Pick<RegisterModelBody, 'uri' | 'format'>,
  loc: ReturnType<typeof checkS3Source>,
  limits: SourceLimits,
): Promise<{ files: LoadedFiles; summary: ModelSummary }> {
  if (!isKerasSource(body)) {
    const files = await readModelFiles(deps.storage, loc.key.slice(0, -MODEL_JSON.length), loc.bucket, { maxWeightBytes: limits.maxBytes, maxLayers: limits.maxLayers });
    checkStatedFormat(body, files);
    // 422 model_invalid when tfjs cannot build it, or not within MODEL_INSPECT_TIMEOUT_MS / _MEMORY_MB.
    return { files, summary: await deps.inspector.inspect(files, { maxRows: Number.isFinite(limits.maxLayers) ? limits.maxLayers : undefined }) };
  }
  const bytes = await deps.storage.getBytes(loc.key, loc.bucket, limits.maxBytes + KERAS_FILE_OVERHEAD);
  const format = body.format === 'keras' || body.format === 'h5' ? body.format : undefined;
  const imported = await deps.inspector.importKeras({ bytes, format, maxWeightBytes: limits.maxBytes, maxLayers: limits.maxLayers });
  // The child's model.json came out of a hostile file: it gets the same checks as one uploaded.
  const modelJson = parseModelJson(new TextEncoder().encode(imported.modelJson), limits.maxLayers);
  const weights = new Uint8Array(imported.weights);
  checkWeightBytes(modelJson, weights.byteLength);
  return { files: { modelJson, weights }, summary: imported.summary };
}
