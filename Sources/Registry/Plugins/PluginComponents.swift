import CSaddlePluginABI
import SaddleCore
import SaddleLayers

/// Hyperparameter values as the doubles kernels receive (booleans as 0 or 1).
func hyperparameterValues(_ arguments: [(String, JSONValue)]) -> [Double] {
    arguments.map { _, value in
        switch value {
        case .number(let x): x
        case .bool(let b): b ? 1 : 0
        default: 0
        }
    }
}

/// Calls `body` with a pointer to `values` for the 'h' role.
func withHyperparameters<R>(_ values: [Double], _ body: (UnsafeMutableRawPointer?) throws -> R) rethrows -> R {
    try values.withUnsafeBufferPointer { try body(UnsafeMutableRawPointer(mutating: $0.baseAddress)) }
}

// MARK: - Activations

/// The kernels of a plugin activation.
final class ActivationKernels: Sendable {
    let name: String
    let forward: PluginKernel
    let derivative: PluginKernel
    let secondDerivative: PluginKernel?

    init(name: String, forward: PluginKernel, derivative: PluginKernel, secondDerivative: PluginKernel?) {
        self.name = name
        self.forward = forward
        self.derivative = derivative
        self.secondDerivative = secondDerivative
    }

    func run(_ kernel: PluginKernel, _ x: Tensor, _ hyper: [Double]) throws -> Tensor {
        let y = Tensor.zeros(x.shape, dtype: x.dtype)
        try withHyperparameters(hyper) { h in
            var arguments = KernelArguments()
            arguments.n = Int64(x.count)
            arguments.x = x.unsafeAddress
            arguments.y = y.unsafeAddress
            arguments.h = h
            try kernel.call(x.dtype, arguments)
        }
        return y
    }

    /// f(x), differentiable: the pullback is g f'(x), and f'(x) is itself recorded with the
    /// pullback g f''(x) when the plugin provides f''.
    func apply(_ x: Tensor, _ hyper: [Double]) throws -> Tensor {
        let name = self.name
        return Tensor.record(name, inputs: [x], output: try run(forward, x.detached, hyper)) { c in
            [try c.cotangent * self.derivativeOperation(c.inputs[0], hyper)]
        }
    }

    private func derivativeOperation(_ x: Tensor, _ hyper: [Double]) throws -> Tensor {
        let name = self.name
        return Tensor.record("\(name) derivative", inputs: [x], output: try run(derivative, x.detached, hyper)) { c in
            guard let second = self.secondDerivative else { throw AutodiffError.noSecondOrderRule(op: name) }
            let value = try self.run(second, c.inputs[0].detached, hyper)
            let curvature = Tensor.record("\(name) second derivative", inputs: [c.inputs[0]], output: value, secondOrder: .none) { _ in
                throw AutodiffError.noSecondOrderRule(op: "\(name) (third derivative)")
            }
            return [try c.cotangent * curvature]
        }
    }
}

/// A plugin activation as a layer. Any shape.
public struct PluginActivation: Layer, ConfigurableLayer {
    let kernels: ActivationKernels
    /// The validated hyperparameters, in declared order.
    public let arguments: [(String, JSONValue)]
    /// `arguments` as the numbers the kernels take.
    let hyperparameters: [Double]

    init(kernels: ActivationKernels, arguments: [(String, JSONValue)]) {
        self.kernels = kernels
        self.arguments = arguments
        hyperparameters = hyperparameterValues(arguments)
    }

    /// The activation's registered name (`vendor.name`).
    public var name: String { kernels.name }

    /// Applies the plugin's forward kernel element by element; the backward pass uses its derivative kernels.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        try kernels.apply(input, hyperparameters)
    }

    /// Writes `{"layer": name}` followed by the validated hyperparameters.
    public func layerConfiguration() -> JSONValue { .object([("layer", .string(name))] + arguments) }
}

// MARK: - Layers

/// The shape functions and kernels of a plugin layer.
final class LayerKernels: @unchecked Sendable {
    typealias OutputFeatures = @convention(c) (UnsafePointer<Double>?, Int64, UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<saddle_sink>?) -> Int32
    typealias WeightShape = @convention(c) (
        UInt32, UnsafePointer<Double>?, Int64, Int64, UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<saddle_sink>?
    ) -> Int32
    typealias Initialize = @convention(c) (
        UInt32, UnsafePointer<Double>?, Int64, Int64, UnsafePointer<Double>?, UnsafeMutablePointer<Double>?, Int64, UnsafeMutablePointer<saddle_sink>?
    ) -> Int32

    let name: String
    let weightNames: [String]
    let outputFeatures: OutputFeatures
    let weightShape: WeightShape
    let initialize: Initialize
    let forward: PluginKernel
    let backward: PluginKernel
    let jvp: PluginKernel?
    let backwardJVP: PluginKernel?

    init(
        name: String, weightNames: [String], outputFeatures: OutputFeatures, weightShape: WeightShape, initialize: Initialize,
        forward: PluginKernel, backward: PluginKernel, jvp: PluginKernel?, backwardJVP: PluginKernel?
    ) {
        self.name = name
        self.weightNames = weightNames
        self.outputFeatures = outputFeatures
        self.weightShape = weightShape
        self.initialize = initialize
        self.forward = forward
        self.backward = backward
        self.jvp = jvp
        self.backwardJVP = backwardJVP
    }

    /// Runs a shape function, turning a failure into an error with the plugin's message.
    func check(_ what: String, _ body: (UnsafeMutablePointer<saddle_sink>) -> Int32) throws {
        let (status, message) = MessageSink.collecting(body)
        guard status == SADDLE_OK else {
            throw PluginError.kernelFailed(component: name, slot: what, message: message ?? "returned \(status)")
        }
    }

    /// Arguments common to every kernel of a layer call.
    func arguments(_ x: Tensor, outputFeatures: Int, h: UnsafeMutableRawPointer?) -> KernelArguments {
        var arguments = KernelArguments()
        arguments.b = Int64(x.shape[0])
        arguments.i = Int64(x.shape[1])
        arguments.o = Int64(outputFeatures)
        arguments.x = x.unsafeAddress
        arguments.h = h
        return arguments
    }

    /// y = f(x; w), recorded; the pullback runs the backward kernel as a recorded operation
    /// whose own pullback is the plugin's second-order rule.
    func apply(_ x: Tensor, _ weights: [Tensor], outputFeatures: Int, hyper: [Double]) throws -> Tensor {
        let input = x.detached
        let y = Tensor.zeros([x.shape[0], outputFeatures], dtype: x.dtype)
        try withHyperparameters(hyper) { h in
            try withPointerArray(weights) { w in
                var a = arguments(input, outputFeatures: outputFeatures, h: h)
                a.w = w
                a.y = y.unsafeAddress
                try forward.call(x.dtype, a)
            }
        }
        let shapes = weights.map(\.shape)
        let inputShape = x.shape
        return Tensor.record(name, inputs: [x] + weights, output: y) { c in
            let flat = try self.backwardOperation(c.inputs[0], Array(c.inputs.dropFirst()), c.cotangent, outputFeatures: outputFeatures, hyper: hyper)
            let pieces = try flat.split(sizes: [inputShape.reduce(1, *)] + shapes.map { $0.reduce(1, *) }, alongAxis: 0)
            return [try pieces[0].reshaped(to: inputShape)] + (try zip(pieces.dropFirst(), shapes).map { try $0.reshaped(to: $1) })
        }
    }

    /// (dx, dw_1, ..., dw_k) flattened into one vector.
    private func backwardOperation(_ x: Tensor, _ weights: [Tensor], _ g: Tensor, outputFeatures: Int, hyper: [Double]) throws -> Tensor {
        let sizes = [x.count] + weights.map(\.count)
        let flat = try gradientBuffer(sizes: sizes, dtype: x.dtype) { d, dWeights in
            try withHyperparameters(hyper) { h in
                try withPointerArray(weights.map(\.detached)) { w in
                    var a = arguments(x.detached, outputFeatures: outputFeatures, h: h)
                    a.w = w
                    a.g = g.unsafeAddress
                    a.d = d
                    a.weightGradients = dWeights
                    try backward.call(x.dtype, a)
                }
            }
        }
        let name = self.name
        return Tensor.record("\(name) backward", inputs: [x] + weights + [g], output: flat, secondOrder: .none) { c in
            guard let jvp = self.jvp, let backwardJVP = self.backwardJVP else { throw AutodiffError.noSecondOrderRule(op: name) }
            let cotangent = c.cotangent.detached
            let pieces = try cotangent.split(sizes: sizes, alongAxis: 0)
            let tangentX = pieces[0]
            let tangentW = Array(pieces.dropFirst())
            let input = c.inputs[0].detached
            let weightValues = c.inputs[1..<(1 + weights.count)].map(\.detached)
            let upstream = c.inputs[c.inputs.count - 1].detached
            // Cotangent of g: the forward JVP along (tangentX, tangentW).
            let gTangent = Tensor.zeros(upstream.shape, dtype: upstream.dtype)
            // Cotangents of x and w: backward's directional derivative along the same tangents.
            var result: [Tensor?] = []
            let second = try self.gradientBuffer(sizes: sizes, dtype: input.dtype) { d, dWeights in
                try withHyperparameters(hyper) { h in
                    try withPointerArray(weightValues) { w in
                        try withPointerArray(tangentW) { wTangent in
                            var a = self.arguments(input, outputFeatures: outputFeatures, h: h)
                            a.w = w
                            a.tangentX = tangentX.unsafeAddress
                            a.tangentW = wTangent
                            a.y = gTangent.unsafeAddress
                            try jvp.call(input.dtype, a)
                            a.g = upstream.unsafeAddress
                            a.d = d
                            a.weightGradients = dWeights
                            try backwardJVP.call(input.dtype, a)
                        }
                    }
                }
            }
            let parts = try second.split(sizes: sizes, alongAxis: 0)
            result.append(try parts[0].reshaped(to: input.shape))
            for (part, weight) in zip(parts.dropFirst(), weightValues) { result.append(try part.reshaped(to: weight.shape)) }
            result.append(gTangent)
            return result
        }
    }

    /// A zeroed flat buffer holding consecutive pieces of `sizes`; `body` gets the first piece's
    /// address and a C array of the other pieces' addresses.
    private func gradientBuffer(sizes: [Int], dtype: DType, _ body: (UnsafeMutableRawPointer, UnsafeMutableRawPointer) throws -> Void) throws -> Tensor {
        let flat = Tensor.zeros([sizes.reduce(0, +)], dtype: dtype)
        let base = flat.unsafeAddress
        var offsets: [Int] = []
        var offset = sizes[0]
        for size in sizes.dropFirst() {
            offsets.append(offset)
            offset += size
        }
        let array = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(offsets.count, 1))
        defer { array.deallocate() }
        for (k, start) in offsets.enumerated() { array[k] = base + start * dtype.byteCount }
        try body(base, UnsafeMutableRawPointer(array))
        return flat
    }
}

/// A plugin layer on vectors: input `[batch, in]`, output `[batch, out]`, with the plugin's
/// named weights as parameters.
public struct PluginLayer: Layer, ConfigurableLayer {
    let kernels: LayerKernels
    /// The validated hyperparameters, in declared order.
    public let arguments: [(String, JSONValue)]
    /// The number of input features (`in`).
    public let inputFeatures: Int
    /// The number of output features (`out`), as the plugin's shape function gave it.
    public let outputFeatures: Int
    /// The plugin's weights, in the order of its weight names.
    public private(set) var weights: [Tensor]
    /// `arguments` as the numbers the kernels take.
    let hyperparameters: [Double]

    /// A layer with weights initialized by the plugin; `reserving` sees each weight's shape
    /// before it is allocated (the build's memory estimate).
    init(
        kernels: LayerKernels, arguments: [(String, JSONValue)], inputFeatures: Int, dtype: DType, generator: inout RandomGenerator,
        reserving: ([Int]) throws -> Void = { _ in }
    ) throws {
        self.kernels = kernels
        self.arguments = arguments
        self.inputFeatures = inputFeatures
        let hyper = hyperparameterValues(arguments)
        hyperparameters = hyper
        var output: Int64 = 0
        try hyper.withUnsafeBufferPointer { h in
            try kernels.check("output_features") { kernels.outputFeatures(h.baseAddress, Int64(inputFeatures), &output, $0) }
        }
        guard output >= 1, output <= Int64(maximumUnits) else {
            throw PluginError.kernelFailed(component: kernels.name, slot: "output_features", message: "returned \(output) features")
        }
        outputFeatures = Int(output)
        var weights: [Tensor] = []
        for index in kernels.weightNames.indices {
            var dims = [Int64](repeating: 0, count: 4)
            var rank: Int32 = 0
            try hyper.withUnsafeBufferPointer { h in
                try kernels.check("weight_shape") { kernels.weightShape(UInt32(index), h.baseAddress, Int64(inputFeatures), output, &dims, &rank, $0) }
            }
            guard rank >= 1, rank <= 2, dims.prefix(Int(rank)).allSatisfy({ $0 >= 1 && $0 <= Int64(Tensor.maximumConfiguredElements) }) else {
                throw PluginError.kernelFailed(component: kernels.name, slot: "weight_shape", message: "weight \(kernels.weightNames[index]) has rank \(rank) and extents \(dims.prefix(Int(rank)))")
            }
            let shape = dims.prefix(Int(rank)).map(Int.init)
            let count = shape.reduce(1, *)
            guard count <= Tensor.maximumConfiguredElements else {
                throw PluginError.kernelFailed(component: kernels.name, slot: "weight_shape", message: "weight \(kernels.weightNames[index]) is too large")
            }
            try reserving(shape)
            let uniform = (0..<count).map { _ in generator.nextUniform() }
            var values = [Double](repeating: 0, count: count)
            try hyper.withUnsafeBufferPointer { h in
                try kernels.check("initialize") { sink in
                    kernels.initialize(UInt32(index), h.baseAddress, Int64(inputFeatures), output, uniform, &values, Int64(count), sink)
                }
            }
            weights.append(try Tensor(shape: shape, scalars: values, dtype: dtype))
        }
        self.weights = weights
    }

    /// The layer's registered name (`vendor.name`).
    public var name: String { kernels.name }

    /// Runs the plugin's forward kernel on `[batch, inputFeatures]`; the backward pass uses its backward kernel.
    /// - Throws: `TensorError` when the input's shape or dtype does not fit, `PluginError` when the kernel is missing or fails.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        guard input.rank == 2, input.shape[1] == inputFeatures else {
            throw TensorError.shapeMismatch(op: name, shapes: [input.shape], reason: "input must be [batch, \(inputFeatures)]")
        }
        guard weights.allSatisfy({ $0.dtype == input.dtype }) else {
            throw TensorError.dtypeMismatch(op: name, dtypes: [input.dtype] + weights.map(\.dtype))
        }
        return try kernels.apply(input, weights, outputFeatures: outputFeatures, hyper: hyperparameters)
    }

    /// The weights under the plugin's weight names.
    public var parameters: NamedTensors { NamedTensors(zip(kernels.weightNames, weights)) }

    /// A copy with the weights named in `tensors` replaced; the others are kept.
    public func replacing(_ tensors: NamedTensors) throws -> PluginLayer {
        var copy = self
        copy.weights = try zip(kernels.weightNames, weights).map { try replacement(for: $1, at: $0, in: tensors) }
        return copy
    }

    /// Writes `{"layer": name}` followed by the validated hyperparameters.
    public func layerConfiguration() -> JSONValue { .object([("layer", .string(name))] + arguments) }
}

// MARK: - Optimizers

/// The update kernel of a plugin optimizer.
final class OptimizerKernel: Sendable {
    let name: String
    let stateNames: [String]
    let update: PluginKernel
    /// How many hyperparameters the plugin declared (the host may append clipping after them).
    let declaredParameters: Int

    init(name: String, stateNames: [String], update: PluginKernel, declaredParameters: Int) {
        self.name = name
        self.stateNames = stateNames
        self.update = update
        self.declaredParameters = declaredParameters
    }
}

/// A plugin optimizer. State per parameter: the plugin's named buffers (`<path>.<name>`,
/// zero at first) and the step count (`<path>.step`).
public struct PluginOptimizer: GradientOptimizer {
    let kernel: OptimizerKernel
    let hyperparameters: [Double]
    /// The step size passed to the update kernel; the `learning_rate` argument, or 0 without one.
    public var learningRate: Double
    /// The largest global gradient norm let through (`max_gradient_norm`), or nil for no clipping.
    public var maxGradientNorm: Double?
    /// The plugin's buffers and step counts, under `<path>.<name>` and `<path>.step`.
    public var state = NamedTensors()
    /// The plugin's named buffers, shaped like their parameter, and the `step` count.
    public var stateSlots: [OptimizerSlot]? {
        kernel.stateNames.map { OptimizerSlot($0, .parameter) } + [OptimizerSlot("step", .stepCount)]
    }

    init(kernel: OptimizerKernel, arguments: [(String, JSONValue)]) throws {
        self.kernel = kernel
        hyperparameters = hyperparameterValues(Array(arguments.prefix(kernel.declaredParameters)))
        if case .number(let rate)? = arguments.first(where: { $0.0 == "learning_rate" })?.1 { learningRate = rate } else { learningRate = 0 }
        if case .number(let norm)? = arguments.first(where: { $0.0 == "max_gradient_norm" })?.1 { maxGradientNorm = norm }
    }

    /// Runs the plugin's update kernel on each parameter in place, creating its zeroed buffers
    /// on first use and counting its steps.
    /// - Throws: `TensorError` when the layouts differ, `OptimizerError.invalidState` for a buffer or
    ///   step count of the wrong shape or dtype, and `PluginError` when the kernel is missing or fails.
    public mutating func update(_ parameters: inout NamedTensors, gradient: NamedTensors) throws {
        try parameters.checkSameLayout(as: gradient, op: kernel.name)
        for k in 0..<parameters.count {
            let path = parameters.paths[k]
            let g = gradient.tensors[k].detached.converted(to: parameters.tensors[k].dtype)
            let zeros = { parameters.tensors[k].detached.zerosLike() }
            var stateAddresses: [UnsafeMutableRawPointer] = []
            for name in kernel.stateNames {
                // The kernel is told `n` elements: every buffer must hold exactly that many.
                stateAddresses.append(try state.modifyState("\(path).\(name)", like: parameters.tensors[k], insertingIfAbsent: zeros) { tensor in
                    tensor.makeUniquelyOwned()
                    return tensor.unsafeAddress
                })
            }
            if let count = state["\(path).step"], count.rank != 0 || count.dtype != .float64 {
                throw OptimizerError.invalidState(path: "\(path).step", reason: "a step count is a float64 scalar, found \(count.dtype) \(count.shape)")
            }
            let step = state.modify("\(path).step", insertingIfAbsent: { Tensor(0, dtype: .float64) }) { step -> Int64 in
                let next = ((try? step.item()) ?? 0) + 1
                step.fill(with: next)
                return Int64(next)
            }
            let address = parameters.modifyTensor(at: k) { tensor in
                tensor.makeUniquelyOwned()
                return tensor.unsafeAddress
            }
            let dtype = parameters.tensors[k].dtype
            let count = parameters.tensors[k].count
            let states = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(stateAddresses.count, 1))
            defer { states.deallocate() }
            for (j, pointer) in stateAddresses.enumerated() { states[j] = pointer }
            try withHyperparameters(hyperparameters) { h in
                var a = KernelArguments()
                a.n = Int64(count)
                a.p = address
                a.g = g.unsafeAddress
                a.s = UnsafeMutableRawPointer(states)
                a.h = h
                a.l = learningRate
                a.t = step
                try withExtendedLifetime(g) { try kernel.update.call(dtype, a) }
            }
        }
    }
}

/// Plugin activations act element by element, so widening passes straight through them. The
/// ABI does not say whether phi(phi(v)) = phi(v), so Net2DeeperNet treats them as not
/// idempotent (it refuses to deepen after one unless forced).
extension PluginActivation: FeatureMapping, IdempotenceReporting {
    /// The activation itself: it acts element by element, so replicated features need nothing.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) throws -> PluginActivation { self }
    /// Always false: the plugin ABI does not say whether the activation is idempotent.
    public var isIdempotent: Bool { false }
}
