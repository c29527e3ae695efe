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

/// The string hyperparameters among `arguments`, as the 'S' role passes them.
func stringValues(_ arguments: ArraySlice<(String, JSONValue)>) -> CStringArray {
    CStringArray(arguments.map { _, value in
        if case .string(let text) = value { return text }
        return ""
    })
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
        // The ABI leaves output buffers' contents unspecified: the kernel writes every element.
        let y = Tensor(uninitializedShape: x.shape, dtype: x.dtype)
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
        return Tensor.record(
            name, inputs: [x], output: try run(forward, x.detached, hyper),
            tangent: { c in try c.linearCombination([(0, try self.run(self.derivative, c.inputs[0], hyper))]) }
        ) { c in
            [try c.cotangent * self.derivativeOperation(c.inputs[0], hyper)]
        }
    }

    private func derivativeOperation(_ x: Tensor, _ hyper: [Double]) throws -> Tensor {
        let name = self.name
        return Tensor.record(
            "\(name) derivative", inputs: [x], output: try run(derivative, x.detached, hyper),
            tangent: { c in
                // One f'' call whatever the number of directions (forward-over-reverse).
                guard let second = self.secondDerivative else { throw AutodiffError.noSecondOrderRule(op: name) }
                return try c.linearCombination([(0, try self.run(second, c.inputs[0], hyper))])
            }
        ) { c in
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

// MARK: - Optimizers

/// The update kernel of a plugin optimizer.
final class OptimizerKernel: Sendable {
    let name: String
    let stateNames: [String]
    let update: PluginKernel
    /// How many numeric hyperparameters the plugin declared; its string hyperparameters
    /// (`stringParameters` of them) follow, then the host's clipping.
    let declaredParameters: Int
    let stringParameters: Int

    init(name: String, stateNames: [String], update: PluginKernel, declaredParameters: Int, stringParameters: Int) {
        self.name = name
        self.stateNames = stateNames
        self.update = update
        self.declaredParameters = declaredParameters
        self.stringParameters = stringParameters
    }
}

/// A plugin optimizer. State per parameter: the plugin's named buffers (`<path>.<name>`,
/// zero at first) and the step count (`<path>.step`).
public struct PluginOptimizer: GradientOptimizer {
    let kernel: OptimizerKernel
    let hyperparameters: [Double]
    let strings: CStringArray
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
        strings = stringValues(arguments.dropFirst(kernel.declaredParameters).prefix(kernel.stringParameters))
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
                try withShape(parameters.tensors[k].shape) { shape in
                var a = KernelArguments()
                a.n = Int64(count)
                a.parameterShape = UnsafeMutableRawPointer(shape)
                a.strings = strings.raw
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
