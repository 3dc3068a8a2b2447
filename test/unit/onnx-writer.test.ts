/**
 * @jest-environment ./test/support/native-typed-arrays-environment.js
 */
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { TensorType, writeModel } from '../../components/inference/src/core/onnx-writer';

describe('ONNX writer', () => {
  it('writes a model onnxruntime loads and runs: inputs, outputs, initializers, attributes, metadata', async () => {
    const bytes = writeModel({
      graphName: 'tiny',
      opset: 17,
      producer: 'test',
      producerVersion: '1',
      inputs: [{ name: 'x', type: TensorType.FLOAT, shape: ['N', 3] }],
      outputs: [
        { name: 'y', type: TensorType.FLOAT, shape: ['N', 3] },
        { name: 's', type: TensorType.FLOAT, shape: ['N'] },
      ],
      initializers: [
        { name: 'b', type: TensorType.FLOAT, dims: [3], values: [1, 2, 3] },
        { name: 'axes', type: TensorType.INT64, dims: [1], values: [1] },
      ],
      nodes: [
        { op: 'Add', inputs: ['x', 'b'], outputs: ['y'] },
        {
          op: 'ReduceSum',
          inputs: ['y', 'axes'],
          outputs: ['s'],
          attributes: [{ name: 'keepdims', int: 0 }],
        },
      ],
      metadata: { modelId: 'tiny', threshold: '1.5' },
    });
    const session = await InferenceSession.create(bytes);
    try {
      expect(session.inputNames).toEqual(['x']);
      expect(session.outputNames).toEqual(['y', 's']);
      const out = await session.run({
        x: new OrtTensor('float32', Float32Array.from([0, 0, 0, 1, 1, 1]), [2, 3]),
      });
      expect(Array.from(out['y']!.data as Float32Array)).toEqual([1, 2, 3, 2, 3, 4]);
      expect(Array.from(out['s']!.data as Float32Array)).toEqual([6, 9]);
    } finally {
      await session.release();
    }
  });
});
