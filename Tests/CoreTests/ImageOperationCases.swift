import SaddleCore

/// A convolution case: input `[n, c, h, w]`, weight `[o, c / groups, kh, kw]`, with or without bias.
private func convolution(
    _ name: String, input: [Int], weight: [Int], bias: Bool = true, options: Convolution2DOptions = Convolution2DOptions()
) -> OperationCase {
    OperationCase(name: "conv2d \(name)", inputs: { g in
        [Draw.normal(input, &g), Draw.normal(weight, &g)] + (bias ? [Draw.normal([weight[0]], &g)] : [])
    }) { try conv2d($0[0], weight: $0[1], bias: $0.count == 3 ? $0[2] : nil, options: options) }
}

/// The image operations over stride, padding (symmetric, asymmetric), dilation and groups; max
/// pooling on tie-free inputs.
let imageOperationCases: [OperationCase] = [
    convolution("3x3", input: [2, 2, 5, 5], weight: [3, 2, 3, 3]),
    convolution("padding 1 without bias", input: [2, 2, 4, 4], weight: [3, 2, 3, 3], bias: false, options: .init(padding: Padding2D(1))),
    convolution("stride 2 padding 1", input: [2, 3, 5, 6], weight: [2, 3, 3, 3], options: .init(stride: 2, padding: Padding2D(1))),
    convolution("stride (2, 1) kernel 2x3", input: [1, 2, 5, 5], weight: [2, 2, 2, 3], options: .init(stride: Size2D(2, 1))),
    convolution("dilation 2", input: [2, 1, 6, 6], weight: [2, 1, 3, 3], options: .init(padding: Padding2D(2), dilation: 2)),
    convolution("groups 2", input: [2, 4, 4, 4], weight: [6, 2, 3, 3], options: .init(padding: Padding2D(1), groups: 2)),
    convolution("depthwise", input: [1, 3, 4, 4], weight: [3, 1, 3, 3], options: .init(groups: 3)),
    convolution("same padding, even kernel", input: [2, 2, 4, 5], weight: [2, 2, 2, 4], options: .init(padding: .same(kernel: Size2D(2, 4)))),
    convolution("1x1 stride 2", input: [2, 3, 5, 5], weight: [4, 3, 1, 1], bias: false, options: .init(stride: 2)),
    OperationCase(name: "conv2dInputGradient", inputs: { g in [Draw.normal([2, 3, 3, 3], &g), Draw.normal([3, 2, 3, 3], &g)] }) {
        try conv2dInputGradient($0[0], weight: $0[1], inputShape: [2, 2, 5, 5], options: .init(stride: 2, padding: Padding2D(1)))
    },
    OperationCase(name: "conv2dWeightGradient", inputs: { g in [Draw.normal([2, 2, 5, 5], &g), Draw.normal([2, 4, 3, 3], &g)] }) {
        try conv2dWeightGradient($0[0], outputGradient: $0[1], weightShape: [4, 1, 3, 3], options: .init(stride: 2, padding: Padding2D(1), groups: 2))
    },
    OperationCase(name: "maxPool2d 2x2", inputs: { [Draw.distinct([2, 2, 4, 4], &$0)] }) {
        try maxPool2d($0[0], window: Window2D(kernel: 2, stride: 2))
    },
    OperationCase(name: "maxPool2d 3x3 stride 2 padding 1 (overlapping)", inputs: { [Draw.distinct([1, 2, 5, 5], &$0)] }) {
        try maxPool2d($0[0], window: Window2D(kernel: 3, stride: 2, padding: Padding2D(1)))
    },
    OperationCase(name: "avgPool2d 2x2", inputs: { [Draw.normal([2, 2, 4, 5], &$0)] }) {
        try avgPool2d($0[0], window: Window2D(kernel: 2, stride: 2))
    },
    OperationCase(name: "avgPool2d 3x3 stride 1 padding 1", inputs: { [Draw.normal([1, 2, 4, 4], &$0)] }) {
        try avgPool2d($0[0], window: Window2D(kernel: 3, stride: 1, padding: Padding2D(1)))
    },
    OperationCase(name: "globalAveragePooled", inputs: { [Draw.normal([2, 3, 3, 2], &$0)] }) { try globalAveragePooled($0[0]) },
    OperationCase(name: "batchNormalized over channels", inputs: { g in
        [Draw.normal([3, 2, 2, 3], &g), Draw.normal([2], &g), Draw.normal([2], &g)]
    }) { try batchNormalized($0[0], scale: $0[1], offset: $0[2], epsilon: 1e-5).output },
    OperationCase(name: "conv, tanh, max pool, conv (composition)", inputs: { g in
        [Draw.normal([2, 1, 6, 6], &g), Draw.normal([2, 1, 3, 3], &g), Draw.normal([2, 2, 2, 2], &g)]
    }) {
        let hidden = try maxPool2d(tanh(conv2d($0[0], weight: $0[1], options: .init(padding: Padding2D(1)))), window: Window2D(kernel: 2, stride: 2))
        return try conv2d(hidden, weight: $0[2])
    },
]
