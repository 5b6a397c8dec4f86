// A Graph model whose memory grows with the square of its batch: x·xᵀ mixes
// the examples, a Tile by K widens it, a Sum brings it back to one number a
// row. At batch 2 or 3 it needs kilobytes; at the worker's chunk of 256 rows,
// hundreds of megabytes (K = 2000) or more.
const F = { type: 'DT_FLOAT' };
const I = { type: 'DT_INT32' };
const int32Const = (name: string, n: number) => ({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: String(n) }] } } }, dtype: I } });

/** model.json and its one shard (group1-shard1of1.bin). */
export function quadraticGraph(K = 2000): { modelJson: Record<string, unknown>; shard: Uint8Array } {
  const modelTopology = {
    node: [
      { name: 'x', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '4' }] } }, dtype: F } },
      int32Const('mult', 2), int32Const('axes', 1),
      { name: 'outer', op: 'MatMul', input: ['x', 'x'], attr: { T: F, transpose_a: { b: false }, transpose_b: { b: true } } },
      { name: 'big', op: 'Tile', input: ['outer', 'mult'], attr: { T: F, Tmultiples: I } },
      { name: 'sum', op: 'Sum', input: ['big', 'axes'], attr: { T: F, Tidx: I, keep_dims: { b: true } } },
      { name: 'Identity', op: 'Identity', input: ['sum'], attr: { T: F } },
    ],
    versions: { producer: 1700 },
  };
  const weights = [{ name: 'mult', shape: [2], dtype: 'int32' }, { name: 'axes', shape: [1], dtype: 'int32' }];
  return {
    modelJson: { format: 'graph-model', generatedBy: 'test', convertedBy: 'test', modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights }] },
    shard: new Uint8Array(new Int32Array([1, K, 1]).buffer),
  };
}
