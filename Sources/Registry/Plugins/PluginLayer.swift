import CSaddlePluginABI
import SaddleCore
import SaddleLayers

/// A plugin layer's descriptor as registered: the copied `saddle_layer` (fields beyond the
/// plugin's struct size zeroed), its validated names and kernels, and the functions that turn
/// hyperparameters and an input shape into shapes and initial values.
final class LayerDescriptor: @unchecked Sendable {
    /// `weight_shape_of` and `buffer_shape` (the same C type).
    typealias ShapeFunction = @convention(c) (
        UInt32, UnsafePointer<Double>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<saddle_shape>?, UnsafePointer<saddle_shape>?,
        UnsafeMutablePointer<saddle_shape>?, UnsafeMutablePointer<saddle_sink>?
    ) -> Int32

    let name: String
    let raw: saddle_layer
    let weightNames: [String]
    let bufferNames: [String]
    let bufferInitialValues: [Double]
    /// How many leading arguments are numbers (the rest, `stringCount` of them, are strings).
    let numericCount: Int
    let stringCount: Int
    let forward: PluginKernel
    let backward: PluginKernel
    let jvp: PluginKernel?
    let backwardJVP: PluginKernel?
    let lock: PluginLock?
    let role: Int32
    let unitsParameter: String?
    let weightUnitAxes: [Int]
    let weightInputAxes: [Int]
    let bufferUnitAxes: [Int]
    let exampleInput: [Int]?
    /// Whether one jvp and backward_jvp call carries many tangent directions (forward-over-reverse).
    let batchedTangents: Bool
    /// Whether any kernel draws random numbers.
    let usesRandom: Bool

    init(
        name: String, raw: saddle_layer, weightNames: [String], bufferNames: [String], bufferInitialValues: [Double], numericCount: Int,
        stringCount: Int, kernels: (PluginKernel, PluginKernel, PluginKernel?, PluginKernel?), lock: PluginLock?,
        transform: (role: Int32, units: String?, unitAxes: [Int], inputAxes: [Int], bufferAxes: [Int]), exampleInput: [Int]?
    ) {
        self.name = name
        self.raw = raw
        self.weightNames = weightNames
        self.bufferNames = bufferNames
        self.bufferInitialValues = bufferInitialValues
        self.numericCount = numericCount
        self.stringCount = stringCount
        (forward, backward, jvp, backwardJVP) = kernels
        self.lock = lock
        role = transform.role
        unitsParameter = transform.units
        weightUnitAxes = transform.unitAxes
        weightInputAxes = transform.inputAxes
        bufferUnitAxes = transform.bufferAxes
        self.exampleInput = exampleInput
        if let jvp, let backwardJVP {
            batchedTangents = jvp.takes("k") && backwardJVP.takes("k") && backwardJVP.takes("G")
        } else {
            batchedTangents = false
        }
        usesRandom = [forward, backward, jvp, backwardJVP].contains { $0?.takes("r") == true }
    }

    /// Whether the layer takes inputs of any rank (it gave `output_shape`), not only vectors.
    var isShaped: Bool { raw.output_shape != nil }



    /// Runs a shape function or initializer under the plugin's lock, turning a failure into an
    /// error with the plugin's message.
    func check(_ what: String, _ body: (UnsafeMutablePointer<saddle_sink>) -> Int32) throws {
        let (status, message) = lock.run { MessageSink.collecting(body) }
        guard status == SADDLE_OK else {
            throw PluginError.kernelFailed(component: name, slot: what, message: message ?? "returned \(status)")
        }
    }

    /// A shape function's answer out of range: the descriptor's fault, not a refusal.
    private func refuse(_ slot: String, _ message: String) -> PluginError {
        .invalidDescriptor(component: name, reason: "\(slot) \(message)")
    }

    /// The numbers and strings kernels receive, from validated arguments in declared order.
    func split(_ arguments: [(String, JSONValue)]) -> (hyper: [Double], strings: CStringArray) {
        return (hyperparameterValues(Array(arguments.prefix(numericCount))), stringValues(arguments.dropFirst(numericCount).prefix(stringCount)))
    }

    /// The answer of a 1.1 shape function for tensor `index` (`weight_shape_of`, `buffer_shape`).
    private func askShape(
        _ slot: String, _ function: ShapeFunction, index: Int, what: String, hyper: [Double], strings: CStringArray, input: [Int], output: [Int]
    ) throws -> [Int] {
        var answer = saddle_shape()
        try hyper.withUnsafeBufferPointer { h in
            try withShape(input) { i in
                try withShape(output) { o in try check(slot) { function(UInt32(index), h.baseAddress, strings.pointer, i, o, &answer, $0) } }
            }
        }
        guard let dims = answer.checkedDims else { throw refuse(slot, "\(what) has \(answer.text)") }
        return dims
    }

    /// The output shape per example and the shapes of the weights and buffers, for `input`.
    /// - Throws: `PluginError.kernelFailed` when a shape function fails or answers out of range.
    func shapes(hyper: [Double], strings: CStringArray, input: [Int]) throws -> (output: [Int], weights: [[Int]], buffers: [[Int]]) {
        let output: [Int]
        if let outputShape = raw.output_shape {
            var answer = saddle_shape()
            try hyper.withUnsafeBufferPointer { h in
                try withShape(input) { i in try check("output_shape") { outputShape(h.baseAddress, strings.pointer, i, &answer, $0) } }
            }
            guard let dims = answer.checkedDims else { throw refuse("output_shape", "declared the output shape \(answer.text) for input \(input)") }
            output = dims
        } else {
            guard input.count == 1, let outputFeatures = raw.output_features else {
                throw refuse("output_features", "the layer takes vectors [features], not inputs of shape \(input)")
            }
            var features: Int64 = 0
            try hyper.withUnsafeBufferPointer { h in
                try check("output_features") { outputFeatures(h.baseAddress, Int64(input[0]), &features, $0) }
            }
            guard features >= 1, features <= Int64(maximumUnits) else { throw refuse("output_features", "returned \(features) features") }
            output = [Int(features)]
        }
        let inputFeatures = input.reduce(1, *), outputFeatures = output.reduce(1, *)
        var weights: [[Int]] = []
        for (index, weight) in weightNames.enumerated() {
            if let weightShape = raw.weight_shape_of {
                weights.append(try askShape(
                    "weight_shape_of", weightShape, index: index, what: "weight \(weight)", hyper: hyper, strings: strings, input: input, output: output))
            } else if let weightShape = raw.weight_shape {
                var dims = [Int64](repeating: 0, count: 4)
                var rank: Int32 = 0
                try hyper.withUnsafeBufferPointer { h in
                    try check("weight_shape") { weightShape(UInt32(index), h.baseAddress, Int64(inputFeatures), Int64(outputFeatures), &dims, &rank, $0) }
                }
                guard rank >= 1, rank <= 2, dims.prefix(Int(rank)).allSatisfy({ $0 >= 1 && $0 <= Int64(Tensor.maximumConfiguredElements) }),
                    dims.prefix(Int(rank)).reduce(1, *) <= Int64(Tensor.maximumConfiguredElements)
                else {
                    throw refuse("weight_shape", "weight \(weight) has rank \(rank) and extents \(dims.prefix(Int(max(0, min(rank, 4)))))")
                }
                weights.append(dims.prefix(Int(rank)).map(Int.init))
            }
        }
        var buffers: [[Int]] = []
        for (index, buffer) in bufferNames.enumerated() {
            guard let bufferShape = raw.buffer_shape else { throw refuse("buffer_shape", "the layer declares buffers but no buffer_shape") }
            buffers.append(try askShape(
                "buffer_shape", bufferShape, index: index, what: "buffer \(buffer)", hyper: hyper, strings: strings, input: input, output: output))
        }
        return (output, weights, buffers)
    }

    /// A layer state for `input` with weights drawn by the plugin's initializer from
    /// `generator` and buffers at their initial values; `reserving` sees each tensor's shape
    /// before it is allocated (the build's memory estimate).
    func makeState(
        arguments: [(String, JSONValue)], input: [Int], dtype: DType, generator: inout RandomGenerator,
        reserving: ([Int]) throws -> Void = { _ in }
    ) throws -> PluginLayerState {
        let (hyper, strings) = split(arguments)
        let shapes = try self.shapes(hyper: hyper, strings: strings, input: input)
        var weights: [Tensor] = []
        for (index, shape) in shapes.weights.enumerated() {
            try reserving(shape)
            let count = shape.reduce(1, *)
            let uniform = (0..<count).map { _ in generator.nextUniform() }
            var values = [Double](repeating: 0, count: count)
            try hyper.withUnsafeBufferPointer { h in
                if let initialize = raw.initialize_of {
                    try withShape(input) { i in
                        try withShape(shape) { w in
                            try check("initialize_of") { initialize(UInt32(index), h.baseAddress, strings.pointer, i, w, uniform, &values, Int64(count), $0) }
                        }
                    }
                } else if let initialize = raw.initialize {
                    try check("initialize") { sink in
                        initialize(UInt32(index), h.baseAddress, Int64(input.reduce(1, *)), Int64(shapes.output.reduce(1, *)), uniform, &values, Int64(count), sink)
                    }
                }
            }
            weights.append(try Tensor(shape: shape, scalars: values, dtype: dtype))
        }
        var buffers: [Tensor] = []
        for (shape, initial) in zip(shapes.buffers, bufferInitialValues) {
            try reserving(shape)
            var buffer = Tensor.zeros(shape, dtype: dtype)
            if initial != 0 { buffer.fill(with: initial) }
            buffers.append(buffer)
        }
        return PluginLayerState(
            descriptor: self, arguments: arguments, hyper: hyper, strings: strings, inputShape: input, outputShape: shapes.output,
            weights: weights, buffers: buffers)
    }
}

/// A plugin layer's value: the descriptor, the validated arguments, the shapes, weights and
/// buffers. The four public plugin layer types wrap one of these; they differ only in the
/// transform capabilities they adopt (the plugin's `transform_role`).
public struct PluginLayerState: @unchecked Sendable {
    let descriptor: LayerDescriptor
    /// The validated hyperparameters, in declared order (numbers, then strings).
    public internal(set) var arguments: [(String, JSONValue)]
    let hyper: [Double]
    let strings: CStringArray
    /// The input's shape per example.
    public internal(set) var inputShape: [Int]
    /// The output's shape per example, as the plugin's shape function gave it.
    public internal(set) var outputShape: [Int]
    /// The plugin's weights, in the order of its weight names.
    public internal(set) var weights: [Tensor]
    /// The plugin's buffers, in the order of its buffer names.
    public internal(set) var buffers: [Tensor]

    var name: String { descriptor.name }

    /// Copies of the buffers for the forward kernel to write new values into ('U'): in
    /// training mode, when the kernel takes 'U'; nil otherwise.
    func bufferUpdates(mode: ForwardMode) -> [Tensor]? {
        guard mode == .training, descriptor.forward.takes("U") else { return nil }
        return buffers.map { buffer in
            var copy = buffer.detached
            copy.makeUniquelyOwned()
            return copy
        }
    }

    /// Runs the forward kernel on `input` (`[batch] + inputShape`), recording the operation with
    /// its pullback (the backward kernel) and, when the plugin batches tangents, its
    /// forward-mode rule; reports buffer updates in training mode.
    func apply(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        guard input.rank == 1 + inputShape.count, Array(input.shape.dropFirst()) == inputShape else {
            throw TensorError.shapeMismatch(op: name, shapes: [input.shape], reason: "input must be [batch] + \(inputShape)")
        }
        guard weights.allSatisfy({ $0.dtype == input.dtype }), buffers.allSatisfy({ $0.dtype == input.dtype }) else {
            throw TensorError.dtypeMismatch(op: name, dtypes: [input.dtype] + weights.map(\.dtype) + buffers.map(\.dtype))
        }
        let batch = input.shape[0]
        var random: RandomStreams?
        if descriptor.usesRandom {
            random = RandomStreams(base: context.random, offset: context.exampleOffset, batch: batch)
            _ = context.random.next()
        }
        let pass = LayerPass(state: self, batch: batch, mode: context.mode, random: random)
        let updates = bufferUpdates(mode: context.mode)
        let x = input.detached
        // The ABI leaves output buffers' contents unspecified: the kernel writes every element.
        let y = Tensor(uninitializedShape: [batch] + outputShape, dtype: input.dtype)
        try withPointerArray(weights.map(\.detached)) { w in
            try pass.call(descriptor.forward, x.dtype) { a in
                a.x = x.unsafeAddress
                a.w = w
                a.y = y.unsafeAddress
            } updates: { updates }
        }
        if let updates {
            for (name, value) in zip(descriptor.bufferNames, updates) { context.updateBuffer(name, to: value) }
        }
        return pass.record(input, weights: weights, output: y)
    }
}

/// What every kernel call of one layer pass shares: the layer's values, the batch, the mode
/// and the random streams.
struct LayerPass: @unchecked Sendable {
    let state: PluginLayerState
    let batch: Int
    let mode: ForwardMode
    let random: RandomStreams?

    var descriptor: LayerDescriptor { state.descriptor }

    /// Calls `kernel` with the arguments every layer kernel shares, after `configure` sets the
    /// call's own; `updates` gives the buffers the forward kernel may write ('U').
    func call(
        _ kernel: PluginKernel, _ dtype: DType, _ configure: (inout KernelArguments) -> Void, updates: () -> [Tensor]? = { nil }
    ) throws {
        let newValues = updates()
        try state.hyper.withUnsafeBufferPointer { h in
            try withShape(state.inputShape) { inputShape in
                try withShape(state.outputShape) { outputShape in
                    try withPointerArray(state.buffers) { u in
                        try withPointerArray(newValues ?? []) { newBuffers in
                            func run(_ random: UnsafeMutableRawPointer?) throws {
                                var a = KernelArguments()
                                a.b = Int64(batch)
                                a.i = Int64(state.inputShape.reduce(1, *))
                                a.o = Int64(state.outputShape.reduce(1, *))
                                a.h = UnsafeMutableRawPointer(mutating: h.baseAddress)
                                a.inputShape = UnsafeMutableRawPointer(inputShape)
                                a.outputShape = UnsafeMutableRawPointer(outputShape)
                                a.mode = mode == .training ? Int64(SADDLE_MODE_TRAINING) : Int64(SADDLE_MODE_INFERENCE)
                                a.buffers = u
                                a.bufferUpdates = newValues == nil ? nil : newBuffers
                                a.random = random
                                a.strings = state.strings.raw
                                configure(&a)
                                try kernel.call(dtype, a)
                            }
                            if let random { try random.with { try run($0) } } else { try run(nil) }
                        }
                    }
                }
            }
        }
    }

    /// `output` recorded as the layer's operation on `input` and `weights`.
    func record(_ input: Tensor, weights: [Tensor], output: Tensor) -> Tensor {
        let shapes = weights.map(\.shape)
        let inputShape = input.shape
        let pass = self
        let rule: TangentRule? = descriptor.batchedTangents ? { @Sendable c in try pass.forwardTangent(c) } : nil
        return Tensor.record(descriptor.name, inputs: [input] + weights, output: output, tangent: rule) { c in
            // Bit k of `needed`: input k's gradient is used (a 'q' kernel may skip the rest).
            let needed = (0..<min(c.inputs.count, 63)).reduce(Int64(0)) { $0 | (c.needsGradient($1) ? Int64(1) << Int64($1) : 0) }
            let bits = c.inputs.count > 63 ? -1 : needed
            let flat = try self.backwardOperation(c.inputs[0], Array(c.inputs.dropFirst()), c.cotangent, needed: bits)
            // The flat result holds the input's gradient only when it is needed.
            let includesInput = bits & 1 != 0
            let kept = includesInput ? [inputShape] + shapes : shapes
            let pieces = try flat.split(sizes: kept.map { $0.reduce(1, *) }, alongAxis: 0)
            // Pieces a 'q' kernel skipped hold nothing meaningful: they are not returned.
            let values = try zip(pieces, kept).map { try $0.reshaped(to: $1) }
            let all: [Tensor?] = includesInput ? values : [nil] + values
            return all.enumerated().map { k, value in c.needsGradient(k) ? value : nil }
        }
    }

    /// Tangents `[K] + value shape` of the inputs, nil where zero (batched kernels receive NULL
    /// for those and skip their terms).
    private func tangents(_ c: TangentContext) -> [Tensor?] { c.tangents.map { $0?.detached } }

    /// The forward operation's tangent: one jvp call carrying all K directions.
    private func forwardTangent(_ c: TangentContext) throws -> Tensor? {
        guard let jvp = descriptor.jvp else { return nil }
        let all = tangents(c)
        let x = c.inputs[0]
        let y = Tensor(uninitializedShape: [c.directions, batch] + state.outputShape, dtype: x.dtype)
        try withPointerArray(Array(c.inputs.dropFirst())) { w in
            try withPointerArray(Array(all.dropFirst())) { wTangent in
                try call(jvp, x.dtype) { a in
                    a.x = x.unsafeAddress
                    a.w = w
                    a.tangentX = all[0]?.unsafeAddress
                    a.tangentW = wTangent
                    a.directions = Int64(c.directions)
                    a.y = y.unsafeAddress
                }
            }
        }
        return y
    }

    /// (dx, dw_1, ..., dw_k) flattened into one vector: the backward kernel, recorded so that
    /// its own pullback (reverse-over-reverse) and tangent (forward-over-reverse, batched) are
    /// the plugin's second-order rule.
    func backwardOperation(_ x: Tensor, _ weights: [Tensor], _ g: Tensor, needed: Int64 = -1) throws -> Tensor {
        let inputSizes = [x.count] + weights.map(\.count)
        let includesInput = needed & 1 != 0
        let outputSizes = includesInput ? inputSizes : Array(inputSizes.dropFirst())
        // Without the input's gradient, the kernel writes it (or skips it, with 'q') into scratch.
        let scratch = includesInput ? nil : Tensor(uninitializedShape: [x.count], dtype: x.dtype)
        let flat = Tensor(uninitializedShape: [outputSizes.reduce(0, +)], dtype: x.dtype)
        var addresses = pieceAddresses(flat, sizes: outputSizes)
        if let scratch { addresses.insert(scratch.unsafeAddress, at: 0) }
        try withPointerArray(weights.map(\.detached)) { w in
            try withPointerArray(Array(addresses.dropFirst())) { dWeights in
                try call(descriptor.backward, x.dtype) { a in
                    a.x = x.detached.unsafeAddress
                    a.w = w
                    a.g = g.detached.unsafeAddress
                    a.d = addresses[0]
                    a.weightGradients = dWeights
                    a.needed = needed
                }
            }
        }
        withExtendedLifetime(scratch) {}  // the kernel wrote through its raw address
        let name = descriptor.name
        let weightCount = weights.count
        let pass = self
        let rule: TangentRule? = descriptor.batchedTangents
            ? { @Sendable c in try pass.backwardTangent(c, sizes: inputSizes, needed: needed) } : nil
        return Tensor.record("\(name) backward", inputs: [x] + weights + [g], output: flat, secondOrder: .none, tangent: rule) { c in
            guard let jvp = self.descriptor.jvp, let backwardJVP = self.descriptor.backwardJVP else { throw AutodiffError.noSecondOrderRule(op: name) }
            let pieces = try c.cotangent.detached.split(sizes: outputSizes, alongAxis: 0)
            let tangentX = includesInput ? pieces[0] : c.inputs[0].detached.zerosLike()
            let tangentW = Array(includesInput ? pieces.dropFirst() : pieces[...])
            let input = c.inputs[0].detached
            let weightValues = c.inputs[1..<(1 + weightCount)].map(\.detached)
            let upstream = c.inputs[c.inputs.count - 1].detached
            // Cotangent of g: the forward JVP along (tangentX, tangentW). Cotangents of x and w:
            // backward's directional derivative along the same tangents, g fixed.
            let gTangent = Tensor.zeros(upstream.shape, dtype: upstream.dtype)
            // The G term is zero here: a batched kernel takes NULL for it, a 1.0-style one zeros.
            let noG = backwardJVP.takes("k") ? nil : Tensor.zeros(upstream.shape, dtype: upstream.dtype)
            let second = try self.gradientBuffer(sizes: inputSizes, dtype: input.dtype) { d, dWeights in
                try withPointerArray(weightValues) { w in
                    try withPointerArray(tangentW) { wTangent in
                        try self.call(jvp, input.dtype) { a in
                            a.x = input.unsafeAddress
                            a.w = w
                            a.tangentX = tangentX.unsafeAddress
                            a.tangentW = wTangent
                            a.y = gTangent.unsafeAddress
                        }
                        try self.call(backwardJVP, input.dtype) { a in
                            a.x = input.unsafeAddress
                            a.w = w
                            a.tangentX = tangentX.unsafeAddress
                            a.tangentW = wTangent
                            a.g = upstream.unsafeAddress
                            a.tangentG = noG?.unsafeAddress
                            a.d = d
                            a.weightGradients = dWeights
                        }
                    }
                }
            }
            let parts = try second.split(sizes: inputSizes, alongAxis: 0)
            var result: [Tensor?] = [try parts[0].reshaped(to: input.shape)]
            for (part, weight) in zip(parts.dropFirst(), weightValues) { result.append(try part.reshaped(to: weight.shape)) }
            result.append(gTangent)
            return result
        }
    }

    /// The backward operation's tangent `[K, total]`: one backward_jvp call carrying all K
    /// directions of x, the weights and g.
    private func backwardTangent(_ c: TangentContext, sizes: [Int], needed: Int64) throws -> Tensor? {
        guard let backwardJVP = descriptor.backwardJVP else { return nil }
        let k = c.directions
        let all = tangents(c)
        let x = c.inputs[0]
        let weights = Array(c.inputs[1..<(c.inputs.count - 1)])
        let g = c.inputs[c.inputs.count - 1]
        let d = Tensor(uninitializedShape: [k] + x.shape, dtype: x.dtype)
        let dWeights = weights.map { Tensor(uninitializedShape: [k] + $0.shape, dtype: $0.dtype) }
        try withPointerArray(weights) { w in
            try withPointerArray(Array(all[1..<(all.count - 1)])) { wTangent in
                try withPointerArray(dWeights) { dw in
                    try call(backwardJVP, x.dtype) { a in
                        a.x = x.unsafeAddress
                        a.w = w
                        a.g = g.unsafeAddress
                        a.tangentX = all[0]?.unsafeAddress
                        a.tangentW = wTangent
                        a.tangentG = all[all.count - 1]?.unsafeAddress
                        a.directions = Int64(k)
                        a.d = d.unsafeAddress
                        a.weightGradients = dw
                        a.needed = needed
                    }
                }
            }
        }
        // The flat result holds the input's gradient only when it is needed (backwardOperation).
        let kept = needed & 1 != 0 ? Array(zip([d] + dWeights, sizes)) : Array(zip(dWeights, sizes.dropFirst()))
        return try Tensor.concatenating(try kept.map { try $0.reshaped(to: [k, $1]) }, alongAxis: 1)
    }

    /// The addresses of consecutive pieces of `sizes` in `flat`.
    private func pieceAddresses(_ flat: Tensor, sizes: [Int]) -> [UnsafeMutableRawPointer] {
        var offset = 0
        return sizes.map { size in
            defer { offset += size }
            return flat.unsafeAddress + offset * flat.dtype.byteCount
        }
    }

    /// A zeroed flat buffer holding consecutive pieces of `sizes`;
    /// `body` gets the first piece's address and a C array of the other pieces' addresses.
    private func gradientBuffer(
        sizes: [Int], dtype: DType, _ body: (UnsafeMutableRawPointer, UnsafeMutableRawPointer) throws -> Void
    ) throws -> Tensor {
        let flat = Tensor.zeros([sizes.reduce(0, +)], dtype: dtype)
        let addresses = pieceAddresses(flat, sizes: sizes)
        try withPointerArray(Array(addresses.dropFirst())) { try body(addresses[0], $0) }
        return flat
    }
}

/// What the four plugin layer types share: one `PluginLayerState` and the `Layer`
/// implementation over it.
public protocol PluginLayerValue: Layer, ConfigurableLayer {
    /// The layer's values.
    var state: PluginLayerState { get set }
    /// A layer holding `state`.
    init(state: PluginLayerState)
}

extension PluginLayerValue {
    /// The layer's registered name (`vendor.name`).
    public var name: String { state.name }
    /// The validated hyperparameters, in declared order.
    public var arguments: [(String, JSONValue)] { state.arguments }
    /// The size of the input's first axis per example: its features, or an image's channels.
    public var inputFeatures: Int { state.inputShape[0] }
    /// The size of the output's first axis per example: its features, or an image's channels.
    public var outputFeatures: Int { state.outputShape[0] }
    /// The input's shape per example.
    public var inputShape: [Int] { state.inputShape }
    /// The output's shape per example.
    public var outputShape: [Int] { state.outputShape }
    /// The plugin's weights, in the order of its weight names.
    public var weights: [Tensor] { state.weights }

    /// Runs the plugin's forward kernel on `[batch] + input shape`; the backward pass uses its
    /// backward kernel, Hessians its second-order rule; buffer updates are reported in training mode.
    /// - Throws: `TensorError` when the input's shape or dtype does not fit, `PluginError` when a kernel is missing or fails.
    public func callAsFunction(_ input: Tensor, context: inout ForwardContext) throws -> Tensor {
        try state.apply(input, context: &context)
    }

    /// The weights under the plugin's weight names.
    public var parameters: NamedTensors { NamedTensors(zip(state.descriptor.weightNames, state.weights)) }

    /// The buffers under the plugin's buffer names.
    public var buffers: NamedTensors { NamedTensors(zip(state.descriptor.bufferNames, state.buffers)) }

    /// A copy with the weights and buffers named in `tensors` replaced; the others are kept.
    public func replacing(_ tensors: NamedTensors) throws -> Self {
        var copy = self
        copy.state.weights = try zip(state.descriptor.weightNames, state.weights).map { try replacement(for: $1, at: $0, in: tensors) }
        copy.state.buffers = try zip(state.descriptor.bufferNames, state.buffers).map { try replacement(for: $1, at: $0, in: tensors) }
        return copy
    }

    /// Writes `{"layer": name}` followed by the validated hyperparameters.
    public func layerConfiguration() -> JSONValue { .object([("layer", .string(name))] + state.arguments) }
}

/// A plugin layer that takes no part in transforms (`SADDLE_TRANSFORM_NONE`, and every 1.0 layer).
public struct PluginLayer: PluginLayerValue {
    /// The layer's values.
    public var state: PluginLayerState
    /// A layer holding `state`.
    public init(state: PluginLayerState) { self.state = state }
}

/// A feature-wise plugin layer (`SADDLE_TRANSFORM_FEATURE_WISE`): a widening passes through it.
public struct PluginFeatureLayer: PluginLayerValue, FeatureMapping {
    /// The layer's values.
    public var state: PluginLayerState
    /// A layer holding `state`.
    public init(state: PluginLayerState) { self.state = state }

    /// A copy acting on features replicated by `mapping`: weight and buffer slices along their
    /// declared feature axes are copied.
    public func mappingFeatures(_ mapping: [Int], using generator: inout RandomGenerator) throws -> PluginFeatureLayer {
        PluginFeatureLayer(state: try state.mappingFeatures(mapping))
    }
}

/// A plugin layer with output units of its own on vectors (`SADDLE_TRANSFORM_UNITS`, output
/// `[features]`): Net2Wider widens it and the layer reading it; Net2Deeper inserts its identity.
public struct PluginUnitLayer: PluginLayerValue, OutputWidening, InputWidening, IdentityInitializable {
    /// The layer's values.
    public var state: PluginLayerState
    /// A layer holding `state`.
    public init(state: PluginLayerState) { self.state = state }
}

/// A plugin layer whose output units are channels (`SADDLE_TRANSFORM_UNITS`, output
/// `[channels, ...]`): a widening of it may pass through a Flatten.
public struct PluginChannelLayer: PluginLayerValue, ChannelOutputWidening, InputWidening, IdentityInitializable {
    /// The layer's values.
    public var state: PluginLayerState
    /// A layer holding `state`.
    public init(state: PluginLayerState) { self.state = state }
}

extension PluginLayerState {
    /// The layer type for this state's transform role and output rank.
    var layer: any Layer {
        switch descriptor.role {
        case SADDLE_TRANSFORM_FEATURE_WISE: PluginFeatureLayer(state: self)
        case SADDLE_TRANSFORM_UNITS: outputShape.count > 1 ? PluginChannelLayer(state: self) : PluginUnitLayer(state: self)
        default: PluginLayer(state: self)
        }
    }
}
