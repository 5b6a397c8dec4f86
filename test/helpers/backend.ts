// The backend the engine tests run on: wasm, which every install has, unless
// TF_BACKEND says otherwise (`npm run test:native` sets tensorflow).
import { loadConfigWith } from '../../apps/shared/config.ts';
import { initBackend, type BackendInfo } from '../../apps/shared/ml/tf.ts';

export const TEST_BACKEND_DEFAULTS = { TF_BACKEND: 'wasm' };

const config = loadConfigWith({}, TEST_BACKEND_DEFAULTS);

/** What TF_BACKEND asks of the tests (wasm by default). */
export const testBackendChoice = config.tfBackend;

export function initTestBackend(): Promise<BackendInfo> {
  return initBackend(config.tfBackend, config);
}

/** Data-parallel training (TRAIN_THREADS) is for the single-threaded backends only. */
export const trainsOnThreads = (kind: string) => kind === 'wasm' || kind === 'cpu';
