import Saddle

func conv(_ inputs: Int, _ outputs: Int, _ g: inout RandomGenerator, kernel: Size2D = 3, stride: Size2D = 1, padding: Size2D = 1, dilation: Size2D = 1) throws -> Conv2D {
    try Conv2D(
        inputChannels: inputs, outputChannels: outputs, kernel: kernel, stride: stride, padding: .explicit(padding), dilation: dilation,
        dtype: .float64, using: &g)
}

/// Every transform on every conv layer kind, in Float64 on `[2, 6, 6]` images.
let convolutionPreservationCases: [PreservationCase] = [
    PreservationCase(name: "net2wider conv into conv through relu and max pooling", model: { g in
        Sequential([try conv(2, 3, &g), ReLU(), try MaxPool2D(kernel: 2), try conv(3, 4, &g, kernel: Size2D(3, 2), stride: 2), Flatten()])
    }, transform: Net2WiderNet(layer: "0", units: 7), inputShape: [2, 6, 6]),
    PreservationCase(name: "net2wider conv through batchnorm and flatten into dense (blocks of h x w)", model: { g in
        Sequential([try conv(2, 3, &g, stride: 2), try trainedBatchNorm(3, &g), Tanh(), Flatten(), try dense(3 * 3 * 3, 4, &g)])
    }, transform: Net2WiderNet(layer: "0", units: 5, split: 0.4), inputShape: [2, 6, 6]),
    PreservationCase(name: "net2wider conv through average and global pooling into dense", model: { g in
        Sequential([try conv(2, 4, &g, dilation: 2), ReLU(), try AvgPool2D(kernel: 2), GlobalAveragePool(), try dense(4, 3, &g)])
    }, transform: Net2WiderNet(layer: "0", units: 6), inputShape: [2, 6, 6]),
    PreservationCase(name: "net2wider inside a conv residual branch", model: { g in
        Sequential([
            try conv(2, 3, &g),
            Residual(branch: Sequential([try conv(3, 2, &g), try trainedBatchNorm(2, &g), ReLU(), try conv(2, 3, &g)]), activation: ReLU()),
            Flatten(),
        ])
    }, transform: Net2WiderNet(layer: "1.branch.0", units: 5), inputShape: [2, 6, 6]),
    PreservationCase(name: "net2wider conv into a channel maxout (whole groups of 2) then a conv", model: { g in
        Sequential([try conv(2, 6, &g), try ChannelMaxout(pieces: 2), try conv(3, 2, &g), Flatten()])
    }, transform: Net2WiderNet(layer: "0", units: 10, split: 0.3), inputShape: [2, 6, 6]),
    PreservationCase(name: "net2wider conv through batchnorm, a channel maxout of 3 and flatten into dense", model: { g in
        Sequential([try conv(2, 6, &g, stride: 2), try trainedBatchNorm(6, &g), try ChannelMaxout(pieces: 3), Flatten(), try dense(2 * 9, 3, &g)])
    }, transform: Net2WiderNet(layer: "0", units: 12), inputShape: [2, 6, 6]),
    PreservationCase(name: "net2deeper after conv and relu (centre-tap identity)", model: { g in
        Sequential([try conv(2, 3, &g, kernel: Size2D(3, 5), padding: Size2D(1, 2)), ReLU(), try conv(3, 2, &g), Flatten()])
    }, transform: Net2DeeperNet(layer: "0"), inputShape: [2, 6, 6]),
    PreservationCase(name: "net2deeper after a dilated conv, with batchnorm", model: { g in
        Sequential([try conv(2, 3, &g, padding: 2, dilation: 2), ReLU(), try conv(3, 2, &g), Flatten()])
    }, transform: Net2DeeperNet(layer: "0", batchNorm: true), inputShape: [2, 6, 6]),
    PreservationCase(name: "residual insertion after conv and relu", model: { g in
        Sequential([try conv(2, 3, &g), ReLU(), try MaxPool2D(kernel: 2), Flatten()])
    }, transform: ResidualInsertion(layer: "0"), inputShape: [2, 6, 6]),
    PreservationCase(name: "batchnorm insertion after a conv (per-channel statistics)", model: { g in
        Sequential([try conv(2, 3, &g), Tanh(), try conv(3, 2, &g), Flatten()])
    }, transform: BatchNormInsertion(layer: "0"), inputShape: [2, 6, 6]),
]

import SaddleTestSupport
import Testing

@Suite("Transforms on conv nets refuse what they cannot preserve")
struct ConvolutionTransformRefusals {
    @Test("grouped convolutions and even kernels are refused with the reason")
    func refusals() throws {
        var g = RandomGenerator(seed: 1)
        let grouped = Sequential([
            try Conv2D(inputChannels: 2, outputChannels: 4, kernel: 3, groups: 2, dtype: .float64, using: &g), ReLU(), try conv(4, 2, &g), Flatten(),
        ])
        var context = TransformContext(generator: RandomGenerator(seed: 2), factory: BuiltinLayerFactory())
        #expect(throws: (any Error).self) { _ = try Net2WiderNet(layer: "0", units: 6).apply(to: grouped, context: &context) }
        do {
            _ = try Net2WiderNet(layer: "0", units: 6).apply(to: grouped, context: &context)
        } catch {
            #expect("\(error)".contains("grouped"), "\(error)")
        }
        let grouped2 = Sequential([try conv(2, 6, &g), try ChannelMaxout(pieces: 2), try conv(3, 2, &g)])
        do {
            _ = try Net2WiderNet(layer: "0", units: 9).apply(to: grouped2, context: &context)
            Issue.record("9 channels were accepted before a maxout over pairs")
        } catch {
            #expect("\(error)".contains("whole groups"), "\(error)")
        }
        let even = Sequential([try conv(2, 3, &g, kernel: 2, padding: 0), ReLU(), Flatten()])
        do {
            _ = try Net2DeeperNet(layer: "0").apply(to: even, context: &context)
            Issue.record("an even kernel was deepened")
        } catch {
            #expect("\(error)".contains("odd kernel"), "\(error)")
        }
        // The centre tap of a 3x5 identity convolution is where the identity is.
        let identity = try #require(try conv(2, 3, &g, kernel: Size2D(3, 5)).identityLayer() as? Conv2D)
        let x = Tensor.randomNormal([2, 3, 4, 7], dtype: .float64, using: &g)
        #expect(TestSupport.maxAbsDifference(try identity(x).doubles, x.doubles) == 0)
    }
}
