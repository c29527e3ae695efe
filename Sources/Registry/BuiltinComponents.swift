import Foundation
import SaddleCore
import SaddleData
import SaddleLayers
import SaddleOptimizers

/// Every built-in component.
func builtinEntries() -> [ComponentEntry] {
    builtinLayerEntries() + builtinLossEntries() + builtinOptimizerEntries() + builtinNewtonEntries() + builtinScheduleEntries()
        + builtinDatasetEntries() + builtinTransformEntries()
}

func builtinLossEntries() -> [ComponentEntry] {
    [
        ComponentEntry(
            kind: .loss, name: "softmax_cross_entropy", summary: "mean cross-entropy of softmax(logits) against class indices",
            factory: .loss { _ in SoftmaxCrossEntropy() }),
        ComponentEntry(
            kind: .loss, name: "mean_squared_error", summary: "mean of (prediction - target)^2",
            factory: .loss { _ in MeanSquaredError() }),
    ]
}

private let learningRateSpec = ParameterSpec("learning_rate", .number(0...1e6, exclusiveMinimum: false), "step size")
private let clipSpec = ParameterSpec(
    "max_gradient_norm", .number(0...1e12, exclusiveMinimum: true), default: .null, "clip the global gradient norm to this (null: no clipping)")
private let weightDecaySpec = ParameterSpec("weight_decay", .number(0...1e6, exclusiveMinimum: false), default: .number(0), "L2 penalty coefficient")

func builtinOptimizerEntries() -> [ComponentEntry] {
    let adamSpecs = { (decay: Double) in
        [
            ParameterSpec("learning_rate", .number(0...1e6, exclusiveMinimum: false), default: .number(1e-3), "step size"),
            ParameterSpec("beta1", .number(0...0.999999, exclusiveMinimum: false), default: .number(0.9), "first-moment decay"),
            ParameterSpec("beta2", .number(0...0.999999999, exclusiveMinimum: false), default: .number(0.999), "second-moment decay"),
            ParameterSpec("epsilon", .number(0...1, exclusiveMinimum: true), default: .number(1e-8), "added to the denominator"),
            ParameterSpec("weight_decay", .number(0...1e6, exclusiveMinimum: false), default: .number(decay), "weight decay coefficient"),
            clipSpec,
        ]
    }
    return [
        ComponentEntry(
            kind: .optimizer, name: "sgd", summary: "stochastic gradient descent with momentum (PyTorch's SGD)",
            parameters: [
                learningRateSpec,
                ParameterSpec("momentum", .number(0...0.999999, exclusiveMinimum: false), default: .number(0), "classical momentum"),
                ParameterSpec("nesterov", .boolean, default: .bool(false), "Nesterov momentum"),
                weightDecaySpec, clipSpec,
            ],
            factory: .optimizer { args in
                try SGD(
                    learningRate: args.double("learning_rate"), momentum: args.double("momentum"), nesterov: args.bool("nesterov"),
                    weightDecay: args.double("weight_decay"), maxGradientNorm: args.optionalDouble("max_gradient_norm"))
            }),
        ComponentEntry(
            kind: .optimizer, name: "adam", summary: "Adam with L2 weight decay", parameters: adamSpecs(0),
            factory: .optimizer { args in
                try Adam(
                    learningRate: args.double("learning_rate"), beta1: args.double("beta1"), beta2: args.double("beta2"),
                    epsilon: args.double("epsilon"), weightDecay: args.double("weight_decay"), maxGradientNorm: args.optionalDouble("max_gradient_norm"))
            }),
        ComponentEntry(
            kind: .optimizer, name: "adamw", summary: "Adam with decoupled weight decay", parameters: adamSpecs(0.01),
            factory: .optimizer { args in
                try Adam.adamW(
                    learningRate: args.double("learning_rate"), beta1: args.double("beta1"), beta2: args.double("beta2"),
                    epsilon: args.double("epsilon"), weightDecay: args.double("weight_decay"), maxGradientNorm: args.optionalDouble("max_gradient_norm"))
            }),
    ]
}

func builtinNewtonEntries() -> [ComponentEntry] {
    let stepScale = ParameterSpec("learning_rate", .number(0...1e6, exclusiveMinimum: true), default: .number(1), "scale of the Newton step (1: full step)")
    let maximum = ParameterSpec(
        "max_parameters", .integer(1...20000), default: .number(5000), "largest model for a full Hessian")
    return [
        ComponentEntry(
            kind: .optimizer, name: "newton", summary: "exact Newton: solve H d = -g (full Hessian; drawn to saddles)",
            parameters: [
                stepScale, maximum,
                ParameterSpec(
                    "pseudo_inverse_cutoff", .number(0...0.999999, exclusiveMinimum: false), default: .null,
                    "step on singular Hessians with the pseudo-inverse over |eigenvalues| above this times the largest (null: refuse them)"),
            ],
            factory: .optimizer { args in
                try Newton(
                    learningRate: args.double("learning_rate"), maximumParameters: args.int("max_parameters"),
                    pseudoInverseCutoff: args.optionalDouble("pseudo_inverse_cutoff"))
            }),
        ComponentEntry(
            kind: .optimizer, name: "damped_newton", summary: "damped Newton: (H + damping I) d = -g, fixed or Levenberg-Marquardt damping",
            parameters: [
                stepScale, ParameterSpec("damping", .number(0...1e12, exclusiveMinimum: false), default: .number(1), "the damping mu"),
                ParameterSpec("adaptive", .boolean, default: .bool(false), "adapt mu (Levenberg-Marquardt)"), maximum,
            ],
            factory: .optimizer { args in
                try DampedNewton(
                    learningRate: args.double("learning_rate"), damping: args.double("damping"), adaptive: args.bool("adaptive"),
                    maximumParameters: args.int("max_parameters"))
            }),
        ComponentEntry(
            kind: .optimizer, name: "saddle_free_newton", summary: "saddle-free Newton: d = -|H|^-1 g with damping by line search (Dauphin et al. 2014)",
            parameters: [
                stepScale,
                ParameterSpec("max_parameters", .integer(1...20000), default: .number(3000), "largest model for a full Hessian; larger ones use a Krylov subspace"),
                ParameterSpec("krylov_dimension", .integer(2...1000), default: .number(20), "Lanczos vectors of the Krylov subspace"),
            ],
            factory: .optimizer { args in
                try SaddleFreeNewton(
                    learningRate: args.double("learning_rate"), maximumParameters: args.int("max_parameters"),
                    krylovDimension: args.int("krylov_dimension"))
            }),
        ComponentEntry(
            kind: .optimizer, name: "newton_cg", summary: "Hessian-free Newton-CG, stopping on negative curvature, with a line search",
            parameters: [
                stepScale, ParameterSpec("max_iterations", .integer(1...100000), default: .number(50), "CG iterations per step"),
                ParameterSpec("line_search", .boolean, default: .bool(true), "backtracking line search"),
                ParameterSpec("tolerance", .number(0...1, exclusiveMinimum: true), default: .null, "relative CG residual (null: min(0.5, sqrt(|g|)))"),
            ],
            factory: .optimizer { args in
                try NewtonCG(
                    learningRate: args.double("learning_rate"), maximumIterations: args.int("max_iterations"),
                    lineSearch: args.bool("line_search"), tolerance: args.optionalDouble("tolerance"))
            }),
    ]
}

func builtinScheduleEntries() -> [ComponentEntry] {
    [
        ComponentEntry(kind: .schedule, name: "constant", summary: "the optimizer's learning rate throughout", factory: .schedule { _, _, _ in ConstantSchedule() }),
        ComponentEntry(
            kind: .schedule, name: "step", summary: "multiply the rate by gamma every step_size epochs",
            parameters: [
                ParameterSpec("step_size", .integer(1...1_000_000), "epochs between decays"),
                ParameterSpec("gamma", .number(0...1, exclusiveMinimum: true), default: .number(0.1), "decay factor"),
            ],
            factory: .schedule { args, _, _ in try StepSchedule(stepSize: args.int("step_size"), gamma: args.double("gamma")) }),
        ComponentEntry(
            kind: .schedule, name: "cosine", summary: "cosine decay per epoch to `minimum` over `epochs`",
            parameters: [
                ParameterSpec("epochs", .integer(0...1_000_000), default: .number(0), "decay length in epochs (0: the run's epochs)"),
                ParameterSpec("minimum", .number(0...1e6, exclusiveMinimum: false), default: .number(0), "final learning rate"),
            ],
            factory: .schedule { args, runEpochs, _ in
                try CosineSchedule(epochs: args.int("epochs") == 0 ? runEpochs : args.int("epochs"), minimum: args.double("minimum"))
            }),
        ComponentEntry(
            kind: .schedule, name: "warmup", summary: "linear warm-up over `steps` optimizer steps, then another schedule",
            parameters: [
                ParameterSpec("steps", .integer(1...100_000_000), "warm-up length in steps"),
                ParameterSpec("then", .component(.schedule), default: .string("constant"), "the schedule after warm-up"),
            ],
            factory: .schedule { args, runEpochs, registry in
                let then = try registry.build(.schedule, args["then"] ?? .string("constant"), at: args.path(of: "then")) { factory, inner -> (any LearningRateSchedule)? in
                    guard case .schedule(let make) = factory else { return nil }
                    return try make(inner, runEpochs, registry)
                }
                return try LinearWarmup(steps: args.int("steps"), then: then)
            }),
    ]
}

private func validationSpec(_ value: Double) -> ParameterSpec {
    ParameterSpec("validation", .number(0...0.9, exclusiveMinimum: false), default: .number(value), "fraction of the training data held out")
}
private let splitSeedSpec = ParameterSpec("split_seed", .integer(0...Int(Int32.max)), default: .number(0), "seed of the held-out split")
private func standardizeSpec(_ value: String) -> ParameterSpec {
    ParameterSpec("standardize", .choice(["per_feature", "scalar", "none"]), default: .string(value), "feature standardization fitted on the training part")
}
private let formatSpec = ParameterSpec(
    "format", .choice(["flat", "rows", "images"]), default: .string("flat"),
    "examples as vectors, as row sequences [height, width], or as one-channel images [1, height, width] for conv nets")

/// The shape of one example of a `side` x `side` image data set in the given format.
private func exampleShape(_ format: String, side: Int) -> [Int] {
    switch format {
    case "rows": [side, side]
    case "images": [1, side, side]
    default: [side * side]
    }
}

/// Held-out split and standardization shared by the dataset components.
func prepare(_ data: Dataset, test: Dataset?, _ args: Arguments, exampleShape: [Int]) throws -> DataSplits {
    var (training, heldOut): (Dataset, Dataset)
    let fraction = args.double("validation")
    if fraction > 0 {
        do {
            (training, heldOut) = try data.split(validationFraction: fraction, seed: UInt64(args.int("split_seed")))
        } catch let error as DataError {
            throw ConfigurationError(args.path(of: "validation"), "\(error)")
        }
        guard heldOut.count > 0 else {
            throw ConfigurationError(
                args.path(of: "validation"),
                "holding out \(JSONValue.format(fraction)) of \(data.count) examples leaves \(heldOut.count) held out and \(training.count) for training; both must be at least 1")
        }
    } else if let test {
        (training, heldOut) = (data, test)
        guard training.count > 0, heldOut.count > 0 else {
            throw ConfigurationError(
                args.path, "the data set has \(training.count) training and \(heldOut.count) test examples; both parts must hold at least one")
        }
    } else {
        throw ConfigurationError(args.path(of: "validation"), "this data set has no test part, so validation must be above 0")
    }
    switch args.string("standardize") {
    case "per_feature", "scalar":
        let flatTrain = try training.flattened()
        let scaler = try Standardization(fittedTo: flatTrain, granularity: args.string("standardize") == "scalar" ? .scalar : .perFeature)
        training = try scaler.apply(to: flatTrain)
        heldOut = try scaler.apply(to: try heldOut.flattened())
    default:
        training = try training.flattened()
        heldOut = try heldOut.flattened()
    }
    return DataSplits(
        training: try training.reshapingExamples(to: exampleShape), heldOut: try heldOut.reshapingExamples(to: exampleShape),
        classCount: data.classCount)
}

func builtinDatasetEntries() -> [ComponentEntry] {
    [
        ComponentEntry(
            kind: .dataset, name: "digits", summary: "the bundled UCI optical digits (1797 images of 8x8, 10 classes)",
            parameters: [validationSpec(0.2), splitSeedSpec, standardizeSpec("per_feature"), formatSpec],
            factory: .dataset(
                shape: { args in exampleShape(args.string("format"), side: 8) },
                load: { args, dtype in
                    try prepare(try Digits.load(dtype: dtype), test: nil, args, exampleShape: exampleShape(args.string("format"), side: 8))
                })),
        ComponentEntry(
            kind: .dataset, name: "fashion_mnist",
            summary: "Fashion-MNIST from Debian's dataset-fashion-mnist; pixels / 255; held out: the 10k test images unless validation > 0",
            parameters: [
                ParameterSpec("directory", .string, default: .string(FashionMNIST.defaultDirectory.path), "where the IDX files are"),
                validationSpec(0), splitSeedSpec, standardizeSpec("scalar"), formatSpec,
            ],
            factory: .dataset(
                shape: { args in exampleShape(args.string("format"), side: 28) },
                load: { args, dtype in
                    let directory = URL(fileURLWithPath: args.string("directory"))
                    let train = try FashionMNIST.load(.train, directory: directory, dtype: dtype).scaled(by: 1.0 / 255)
                    let test = try FashionMNIST.load(.test, directory: directory, dtype: dtype).scaled(by: 1.0 / 255)
                    return try prepare(train, test: test, args, exampleShape: exampleShape(args.string("format"), side: 28))
                })),
        ComponentEntry(
            kind: .dataset, name: "csv", summary: "numeric CSV, one example per line, the label in one column",
            parameters: [
                ParameterSpec("path", .string, "the CSV file (plain or gzip)"),
                ParameterSpec("label_column", .integer(-100_000...100_000), default: .number(-1), "label column (negative counts from the end)"),
                ParameterSpec("header", .boolean, default: .bool(false), "skip the first line"),
                validationSpec(0.2), splitSeedSpec, standardizeSpec("per_feature"),
            ],
            factory: .dataset(
                shape: { args in [try csv(args).exampleShape.reduce(1, *)] },
                load: { args, dtype in
                    let data = try csv(args, dtype: dtype)
                    return try prepare(data, test: nil, args, exampleShape: data.exampleShape)
                })),
    ]
}

private func csv(_ args: Arguments, dtype: DType = .float32) throws -> Dataset {
    try CSVReader(labelColumn: args.int("label_column"), hasHeader: args.bool("header")).read(URL(fileURLWithPath: args.string("path")), dtype: dtype)
}
