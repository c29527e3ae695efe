import Saddle
import SaddleTestSupport
import Testing

/// LSTM and BatchNorm against PyTorch on the same weights (scripts/pytorch_golden.py).
@Suite("Agreement with PyTorch")
struct PyTorchAgreementTests {
    func goldenLSTM(returnsSequence: Bool) throws -> LSTM {
        try LSTM(
            weightIH: Formula.tensor(Formula.seq(48, 0.7, 1, 0.3), [16, 3]),
            weightHH: Formula.tensor(Formula.seq(64, 0.7, 2, 0.3), [16, 4]),
            biasIH: Formula.tensor(Formula.seq(16, 0.7, 3, 0.3), [16]),
            biasHH: Formula.tensor(Formula.seq(16, 0.7, 4, 0.3), [16]),
            returnsSequence: returnsSequence)
    }

    let x = Formula.tensor(Formula.seq(30, 0.37, 0, 1), [2, 5, 3])

    @Test func lstmSequenceForwardAndBackward() throws {
        let lstm = try goldenLSTM(returnsSequence: true)
        let r = Formula.tensor(Formula.cosines(40, 0.11), [2, 5, 4])
        let input = x.recorded()
        let parameters = lstm.parameters.recorded()
        let output = try lstm.replacing(parameters)(input)
        #expect(TestSupport.close(output.doubles, PyTorchGolden.lstmOutput, tolerance: 1e-14))
        let grads = try gradients(of: (output * r).sum(), wrt: [input] + parameters.tensors)
        #expect(TestSupport.close(grads[0].doubles, PyTorchGolden.lstmGradX, tolerance: 1e-14))
        #expect(TestSupport.close(grads[1].doubles, PyTorchGolden.lstmGrad_weight_ih_l0, tolerance: 1e-14))
        #expect(TestSupport.close(grads[2].doubles, PyTorchGolden.lstmGrad_weight_hh_l0, tolerance: 1e-14))
        #expect(TestSupport.close(grads[3].doubles, PyTorchGolden.lstmGrad_bias_ih_l0, tolerance: 1e-14))
        #expect(TestSupport.close(grads[4].doubles, PyTorchGolden.lstmGrad_bias_hh_l0, tolerance: 1e-14))
    }

    @Test func lstmLastHiddenState() throws {
        let lstm = try goldenLSTM(returnsSequence: false)
        let r = Formula.tensor(Formula.cosines(8, 0.23), [2, 4])
        let input = x.recorded()
        let parameters = lstm.parameters.recorded()
        let output = try lstm.replacing(parameters)(input)
        #expect(output.shape == [2, 4])
        #expect(TestSupport.close(output.doubles, PyTorchGolden.lstmHn, tolerance: 1e-14))
        let grads = try gradients(of: (output * r).sum(), wrt: [input, parameters["weight_hh"]!])
        #expect(TestSupport.close(grads[0].doubles, PyTorchGolden.lstmHnGradX, tolerance: 1e-14))
        #expect(TestSupport.close(grads[1].doubles, PyTorchGolden.lstmHnGrad_weight_hh_l0, tolerance: 1e-14))
    }

    let bnInput = Formula.tensor((0..<18).map { Foundation.sin(0.5 * Double($0)) * Double(1 + $0 % 3) }, [6, 3])
    let r = Formula.tensor(Formula.cosines(18, 0.3), [6, 3])

    func goldenBatchNorm(mean: [Double] = [0, 0, 0], variance: [Double] = [1, 1, 1]) throws -> BatchNorm {
        try BatchNorm(
            weight: Tensor([1.0, 0.5, -1.5]), bias: Tensor([0.1, -0.2, 0.3]),
            runningMean: Tensor(mean), runningVariance: Tensor(variance), momentum: 0.1, epsilon: 1e-5)
    }

    @Test func batchNormTrainingMode() throws {
        let bn = try goldenBatchNorm()
        let input = bnInput.recorded()
        let parameters = bn.parameters.recorded()
        var context = ForwardContext(mode: .training)
        let y = try bn.replacing(parameters)(input, context: &context)
        #expect(TestSupport.close(y.doubles, PyTorchGolden.bnTrainY, tolerance: 1e-13))
        #expect(TestSupport.close(context.bufferUpdates["running_mean"]!.doubles, PyTorchGolden.bnRunningMean, tolerance: 1e-14))
        #expect(TestSupport.close(context.bufferUpdates["running_var"]!.doubles, PyTorchGolden.bnRunningVar, tolerance: 1e-14))
        let grads = try gradients(of: (y * r).sum(), wrt: [input] + parameters.tensors)
        #expect(TestSupport.close(grads[0].doubles, PyTorchGolden.bnTrainGradX, tolerance: 1e-13))
        #expect(TestSupport.close(grads[1].doubles, PyTorchGolden.bnGradWeight, tolerance: 1e-13))
        #expect(TestSupport.close(grads[2].doubles, PyTorchGolden.bnGradBias, tolerance: 1e-13))
        // The input gradient sums to zero over the batch, feature by feature.
        for total in try grads[0].sum(alongAxis: 0).doubles { #expect(Swift.abs(total) < 1e-14) }
        // The layer itself did not change: its running statistics are only reported.
        #expect(bn.runningMean.doubles == [0, 0, 0])
    }

    @Test func batchNormInferenceMode() throws {
        let bn = try goldenBatchNorm(mean: [0.2, -0.1, 0.4], variance: [1.5, 0.7, 2.0])
        let input = bnInput.recorded()
        var context = ForwardContext(mode: .inference)
        let y = try bn(input, context: &context)
        #expect(context.bufferUpdates.isEmpty)
        #expect(TestSupport.close(y.doubles, PyTorchGolden.bnEvalY, tolerance: 1e-14))
        let grad = try gradients(of: (y * r).sum(), wrt: [input])[0]
        #expect(TestSupport.close(grad.doubles, PyTorchGolden.bnEvalGradX, tolerance: 1e-14))
    }
}

import Foundation
