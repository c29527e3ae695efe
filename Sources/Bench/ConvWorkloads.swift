import Saddle

/// The CNN of torch_bench.py section f: conv(1->32, 3x3, pad 1) ReLU maxpool2, conv(32->64,
/// 3x3, pad 1) ReLU maxpool2, Linear 3136-128 ReLU, Linear 128-10, with PyTorch's default
/// initialization.
func fashionCNN(using generator: inout RandomGenerator) throws -> Sequential {
    try Sequential {
        try Conv2D(inputChannels: 1, outputChannels: 32, kernel: 3, padding: .explicit(1), using: &generator)
        ReLU()
        try MaxPool2D(kernel: 2)
        try Conv2D(inputChannels: 32, outputChannels: 64, kernel: 3, padding: .explicit(1), using: &generator)
        ReLU()
        try MaxPool2D(kernel: 2)
        Flatten()
        try Dense(inputSize: 64 * 7 * 7, units: 128, using: &generator)
        ReLU()
        try Dense(inputSize: 128, units: 10, using: &generator)
    }
}

/// A basic block of torch_bench.py: conv3x3-BN-ReLU-conv3x3-BN, a 1x1 conv-BN projection
/// shortcut when the shape changes, ReLU after the sum.
func basicBlock(_ input: Int, _ output: Int, stride: Int, using generator: inout RandomGenerator) throws -> Residual {
    let branch = try Sequential {
        try Conv2D(inputChannels: input, outputChannels: output, kernel: 3, stride: Size2D(stride, stride), padding: .explicit(1), useBias: false, using: &generator)
        try BatchNorm(featureCount: output)
        ReLU()
        try Conv2D(inputChannels: output, outputChannels: output, kernel: 3, padding: .explicit(1), useBias: false, using: &generator)
        try BatchNorm(featureCount: output)
    }
    var shortcut: Sequential?
    if stride != 1 || input != output {
        shortcut = try Sequential {
            try Conv2D(inputChannels: input, outputChannels: output, kernel: 1, stride: Size2D(stride, stride), useBias: false, using: &generator)
            try BatchNorm(featureCount: output)
        }
    }
    return Residual(branch: branch, shortcut: shortcut, activation: ReLU())
}

/// The resnet8 of torch_bench.py: stem conv 16 + BN + ReLU, blocks 16 -> 32 (stride 2) -> 64
/// (stride 2), global average pool, Linear 64-10.
func resnet8(using generator: inout RandomGenerator) throws -> Sequential {
    try Sequential {
        try Conv2D(inputChannels: 1, outputChannels: 16, kernel: 3, padding: .explicit(1), useBias: false, using: &generator)
        try BatchNorm(featureCount: 16)
        ReLU()
        try basicBlock(16, 16, stride: 1, using: &generator)
        try basicBlock(16, 32, stride: 2, using: &generator)
        try basicBlock(32, 64, stride: 2, using: &generator)
        GlobalAveragePool()
        try Dense(inputSize: 64, units: 10, using: &generator)
    }
}

/// A batch of `batch` standard normal 1x28x28 images with random labels of 10 classes.
func imageBatch(_ batch: Int, using generator: inout RandomGenerator) -> (Tensor, Tensor) {
    let x = Tensor.randomNormal([batch, 1, 28, 28], using: &generator)
    let labels = (0..<batch).map { _ in Float(generator.next() % 10) }
    return (x, Tensor(labels))
}

/// The conv-net rows: training steps of the CNN and resnet8 at batch 128, and a gradient and a
/// Hessian-vector product of the CNN's loss at batch 32, with each model's parameter count.
func convolutionResults(repeats: Int, wanted: (String) -> Bool) throws -> [(String, Any)] {
    var results: [(String, Any)] = []
    for (key, make) in [("cnn_fmnist_b128", fashionCNN), ("resnet8_fmnist_b128", resnet8)] as [(String, (inout RandomGenerator) throws -> Sequential)] {
        guard wanted(key + "_step_ms") else { continue }
        var generator = RandomGenerator(seed: 0)
        let model = try make(&generator)
        let (x, y) = imageBatch(128, using: &generator)
        results.append((key + "_step_ms", try stepMilliseconds(model, input: x, labels: y, steps: 10, repeats: repeats)))
        results.append((key + "_params", model.parameterCount))
    }
    if wanted("cnn_fmnist_real_b128_step_ms") {
        // The same step on a batch of real Fashion-MNIST images (scaled, standardized), which
        // the training run sees, against the random normal batch above.
        var generator = RandomGenerator(seed: 0)
        let model = try fashionCNN(using: &generator)
        var train = try FashionMNIST.load(.train).scaled(by: 1.0 / 255)
        train = try Standardization(fittedTo: train, granularity: .scalar).apply(to: train).reshapingExamples(to: [1, 28, 28])
        let batch = try train.subset(Array(0..<128))
        results.append(("cnn_fmnist_real_b128_step_ms", try stepMilliseconds(model, input: batch.features, labels: batch.labels, steps: 10, repeats: repeats)))
    }
    if wanted("hvp_cnn_b32_ms") || wanted("grad_cnn_b32_ms") {
        var generator = RandomGenerator(seed: 2)
        let model = try fashionCNN(using: &generator)
        let (x, y) = imageBatch(32, using: &generator)
        results += try curvatureResults(
            model, input: x, labels: y, keys: ("hvp_cnn_b32_ms", "grad_cnn_b32_ms", "curvature_cnn_b32_params"), steps: 10, repeats: repeats, wanted: wanted, using: &generator)
    }
    return results
}

/// Milliseconds of each operation of the CNN step at batch 128, measured alone (`--only
/// cnn_profile`): where the step's time goes.
func convolutionProfile(repeats: Int) throws -> [(String, Any)] {
    var generator = RandomGenerator(seed: 0)
    let x = Tensor.randomNormal([128, 1, 28, 28], using: &generator)
    let w1 = Tensor.randomNormal([32, 1, 3, 3], using: &generator), b1 = Tensor.randomNormal([32], using: &generator)
    let w2 = Tensor.randomNormal([64, 32, 3, 3], using: &generator), b2 = Tensor.randomNormal([64], using: &generator)
    let options = Convolution2DOptions(padding: Padding2D(1))
    let window = try Window2D(kernel: 2, stride: 2)
    let h1 = try conv2d(x, weight: w1, bias: b1, options: options)
    let p1 = try maxPool2d(relu(h1), window: window)
    let h2 = try conv2d(p1, weight: w2, bias: b2, options: options)
    let g2 = Tensor.randomNormal(h2.shape, using: &generator)
    let g1 = Tensor.randomNormal(h1.shape, using: &generator)
    let p2 = try maxPool2d(relu(h2), window: window)
    let w3 = Tensor.randomNormal([128, 3136], using: &generator)
    var results: [(String, Any)] = []
    func measure(_ name: String, _ body: () throws -> Void) throws {
        results.append(("profile_" + name + "_ms", try time(steps: 5, repeats: repeats, body).median * 1e3))
    }
    try measure("conv1_forward") { _ = try conv2d(x, weight: w1, bias: b1, options: options) }
    try measure("conv1_weight_gradient") { _ = try conv2dWeightGradient(x, outputGradient: g1, weightShape: w1.shape, options: options) }
    try measure("relu1_forward") { _ = relu(h1) }
    try measure("maxpool1_forward") { _ = try maxPool2d(h1, window: window) }
    try measure("conv2_forward") { _ = try conv2d(p1, weight: w2, bias: b2, options: options) }
    try measure("conv2_input_gradient") { _ = try conv2dInputGradient(g2, weight: w2, inputShape: p1.shape, options: options) }
    try measure("conv2_weight_gradient") { _ = try conv2dWeightGradient(p1, outputGradient: g2, weightShape: w2.shape, options: options) }
    try measure("dense1_forward") { _ = try linear(p2.reshaped(to: [128, 3136]), weight: w3, bias: nil) }
    let a = Tensor.randomNormal([64, 288], using: &generator), b = Tensor.randomNormal([288, 128 * 196], using: &generator)
    try measure("conv2_gemm_only") { _ = try matmul(a, b) }
    // The first block of resnet8: 16 -> 16 channels on 28 x 28, BatchNorm over [128, 16, 28, 28].
    let r = Tensor.randomNormal([128, 16, 28, 28], using: &generator)
    let wr = Tensor.randomNormal([16, 16, 3, 3], using: &generator)
    try measure("res16_conv_forward") { _ = try conv2d(r, weight: wr, options: options) }
    try measure("res16_conv_input_gradient") { _ = try conv2dInputGradient(r, weight: wr, inputShape: r.shape, options: options) }
    try measure("res16_conv_weight_gradient") { _ = try conv2dWeightGradient(r, outputGradient: r, weightShape: wr.shape, options: options) }
    let gamma = Tensor.ones([16]), beta = Tensor.zeros([16])
    try measure("res16_batchnorm_forward") { _ = try batchNormalized(r, scale: gamma, offset: beta, epsilon: 1e-5) }
    let rr = r.recorded()
    try measure("res16_batchnorm_forward_backward") {
        let out = try batchNormalized(rr, scale: gamma, offset: beta, epsilon: 1e-5).output
        _ = try gradients(of: out, wrt: [rr], seed: r)
    }
    try measure("res16_add_relu") { _ = try relu(r + r) }
    let recorded = h1.recorded()
    try measure("relu_maxpool1_backward") {
        let out = try maxPool2d(relu(recorded), window: window)
        _ = try gradients(of: out, wrt: [recorded], seed: out)
    }
    return results
}
