import CSaddlePluginABI
import Foundation
import SaddleCore
import SaddleTraining

/// The outcome of one check of `PluginChecker`.
public struct PluginCheckResult: Sendable, CustomStringConvertible {
    /// The component checked (`vision.dense`).
    public let component: String
    /// What was checked, as a short sentence.
    public let check: String
    /// Whether the component passed.
    public let passed: Bool
    /// The measurement or the reason for a failure.
    public let detail: String

    /// One line: `PASS vision.dense  gradient matches finite differences  (max relative error 3e-10)`.
    public var description: String { "\(passed ? "PASS" : "FAIL") \(component)  \(check)\(detail.isEmpty ? "" : "  (\(detail))")" }
}

/// Checks every component of a loaded plugin as a plugin author would want before shipping it
/// (`saddle plugins check`): finite-difference gradient checks in Float64, tangent rules against
/// the reverse rules and finite differences, batched tangents against single ones, shape
/// functions on edge sizes, outputs left unwritten or written past their declared size
/// (output buffers are filled with a sentinel), NaN propagation, buffers, random streams, growth,
/// and optimizer state round-trips through the checkpoint format.
public enum PluginChecker {
    /// Runs every check on every component of `plugin`, in registration order.
    public static func check(_ plugin: LoadedPlugin) -> [PluginCheckResult] {
        var results: [PluginCheckResult] = []
        for entry in plugin.entries {
            guard let component = plugin.components[entry.name] else { continue }
            for (label, arguments) in argumentVariants(entry.parameters) {
                var checker = ComponentChecker(name: entry.name + label, arguments: arguments)
                switch component {
                case .activation(let kernels): checker.activation(kernels)
                case .layer(let descriptor): checker.layer(descriptor)
                case .optimizer(let kernel): checker.optimizer(kernel)
                }
                results += checker.results
            }
        }
        return results
    }

    /// The defaults, then one variant per other choice of each string hyperparameter with
    /// choices (labelled ` [mode=clipped]`), so that every declared choice reaches the kernels.
    static func argumentVariants(_ specs: [ParameterSpec]) -> [(label: String, arguments: [(String, JSONValue)])] {
        let defaults = defaultArguments(specs)
        var variants = [(label: "", arguments: defaults)]
        for (index, spec) in specs.enumerated() {
            guard case .choice(let choices) = spec.type else { continue }
            for choice in choices where JSONValue.string(choice) != defaults[index].1 {
                var arguments = defaults
                arguments[index].1 = .string(choice)
                variants.append((" [\(spec.name)=\(choice)]", arguments))
            }
        }
        return variants
    }

    /// Arguments for a check: each parameter's default, or for a required one a small value in
    /// its range (3 for an integer, 0.5 for a number, the first choice of a string).
    static func defaultArguments(_ specs: [ParameterSpec]) -> [(String, JSONValue)] {
        specs.map { spec in
            if let value = spec.defaultValue { return (spec.name, value) }
            switch spec.type {
            case .integer(let range): return (spec.name, .number(Double(min(max(3, range.lowerBound), range.upperBound))))
            case .number(let range, _): return (spec.name, .number(min(max(0.5, range.lowerBound), range.upperBound)))
            case .boolean: return (spec.name, .bool(false))
            case .choice(let choices): return (spec.name, .string(choices.first ?? ""))
            default: return (spec.name, .string(""))
            }
        }
    }
}

/// A Float64 buffer followed by as many guard elements again (at least 64), every element
/// filled with a signaling NaN whose payload no computation produces, so that a kernel's
/// unwritten elements and writes past the declared size can be told apart from anything it
/// computes (and a kernel writing up to twice its declared size corrupts nothing).
final class SentinelBuffer {
    static let pattern: UInt64 = 0x7FF4_5AD1_E5E5_E5E5
    let count: Int
    let guardCount: Int
    let storage: UnsafeMutablePointer<UInt64>

    init(_ count: Int) {
        self.count = count
        guardCount = max(64, count)
        storage = .allocate(capacity: count + guardCount)
        storage.initialize(repeating: Self.pattern, count: count + guardCount)
    }

    deinit { storage.deallocate() }

    var raw: UnsafeMutableRawPointer { UnsafeMutableRawPointer(storage) }

    /// How many of the `count` elements still hold the sentinel.
    var unwritten: Int { (0..<count).filter { storage[$0] == Self.pattern }.count }

    /// How many guard elements past `count` were overwritten.
    var overrun: Int { (count..<(count + guardCount)).filter { storage[$0] != Self.pattern }.count }

    /// The `count` elements as doubles.
    var values: [Double] { (0..<count).map { Double(bitPattern: storage[$0]) } }
}

/// The checks of one component, collecting results.
struct ComponentChecker {
    let name: String
    let arguments: [(String, JSONValue)]
    var results: [PluginCheckResult] = []
    var generator = RandomGenerator(seed: 20261201)
    /// Set once a kernel wrote past its buffer: the checks that run kernels on real tensors are
    /// then skipped, since they would corrupt memory.
    var overran = false

    init(name: String, arguments: [(String, JSONValue)]) {
        self.name = name
        self.arguments = arguments
    }

    mutating func record(_ check: String, _ passed: Bool, _ detail: String = "") {
        results.append(PluginCheckResult(component: name, check: check, passed: passed, detail: detail))
    }

    /// Runs `body`, recording its error as a failure of `check`.
    mutating func attempt(_ check: String, _ body: (inout ComponentChecker) throws -> Void) {
        do {
            try body(&self)
        } catch {
            record(check, false, "\(error)")
        }
    }

    mutating func normal(_ count: Int) -> [Double] { (0..<count).map { _ in generator.nextNormal() } }

    /// max |a - b| / max(1e-8, max |b|) over the elements (Float64 comparisons).
    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count else { return .infinity }
        let scale = max(1e-8, b.map(abs).max() ?? 0)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        return worst.isNaN ? .infinity : worst / scale
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    /// Records that the remaining checks were not run because a kernel overran its buffer.
    mutating func skipRest() {
        record("remaining checks", false, "not run: a kernel writes past its buffers, and running it on real tensors would corrupt memory")
    }

    static func format(_ x: Double) -> String { String(format: "%.1e", x) }

    /// The record of a comparison against `bound`.
    mutating func compare(_ check: String, error: Double, bound: Double, what: String = "max relative error") {
        record(check, error <= bound, "\(what) \(Self.format(error)), bound \(Self.format(bound))")
    }

    /// Records whether `buffer` was written exactly: every element, nothing past its end.
    mutating func written(_ check: String, _ buffers: [(String, SentinelBuffer)]) {
        var problems: [String] = []
        for (what, buffer) in buffers {
            if buffer.unwritten > 0 { problems.append("left \(buffer.unwritten) of \(buffer.count) elements of \(what) unwritten") }
            if buffer.overrun > 0 { overran = true }
            if buffer.overrun > 0 { problems.append("wrote \(buffer.overrun) elements past the end of \(what): the declared shape is smaller than what the kernel writes") }
        }
        record(check, problems.isEmpty, problems.isEmpty ? buffers.map { "\($0.0) \($0.1.count)" }.joined(separator: ", ") : problems.joined(separator: "; "))
    }
}

// MARK: - Activations

extension ComponentChecker {
    /// Calls an activation kernel on raw Float64 buffers.
    private func call(_ kernel: PluginKernel, _ x: [Double], into y: UnsafeMutableRawPointer, _ hyper: [Double]) throws {
        var input = x
        try input.withUnsafeMutableBytes { xs in
            try withHyperparameters(hyper) { h in
                var a = KernelArguments()
                a.n = Int64(x.count)
                a.x = xs.baseAddress
                a.y = y
                a.h = h
                try kernel.call(.float64, a)
            }
        }
    }

    private func evaluate(_ kernel: PluginKernel, _ x: [Double], _ hyper: [Double]) throws -> [Double] {
        let y = SentinelBuffer(x.count)
        try call(kernel, x, into: y.raw, hyper)
        return y.values
    }

    mutating func activation(_ kernels: ActivationKernels) {
        let hyper = hyperparameterValues(arguments)
        let slots = [("forward", kernels.forward), ("derivative", kernels.derivative)] + (kernels.secondDerivative.map { [("second_derivative", $0)] } ?? [])
        let missing = slots.filter { !$0.1.supports(.float64) }.map(\.0)
        guard missing.isEmpty else {
            record("has Float64 kernels (the checks run in Float64)", false, "no Float64 \(missing.joined(separator: ", "))")
            return
        }
        let x = normal(257).map { $0 * 2 }
        for (slot, kernel) in slots {
            attempt("\(slot) writes exactly its output") { c in
                let y = SentinelBuffer(x.count)
                try c.call(kernel, x, into: y.raw, hyper)
                c.written("\(slot) writes exactly its output", [("y", y)])
            }
        }
        guard !overran else { return skipRest() }
        let epsilon = 1e-6
        attempt("derivative matches finite differences of forward") { c in
            let plus = try c.evaluate(kernels.forward, x.map { $0 + epsilon }, hyper)
            let minus = try c.evaluate(kernels.forward, x.map { $0 - epsilon }, hyper)
            let difference = zip(plus, minus).map { ($0 - $1) / (2 * epsilon) }
            c.compare("derivative matches finite differences of forward", error: Self.relativeError(try c.evaluate(kernels.derivative, x, hyper), difference), bound: 1e-5)
        }
        if let second = kernels.secondDerivative {
            attempt("second_derivative matches finite differences of derivative") { c in
                let plus = try c.evaluate(kernels.derivative, x.map { $0 + epsilon }, hyper)
                let minus = try c.evaluate(kernels.derivative, x.map { $0 - epsilon }, hyper)
                let difference = zip(plus, minus).map { ($0 - $1) / (2 * epsilon) }
                c.compare("second_derivative matches finite differences of derivative", error: Self.relativeError(try c.evaluate(second, x, hyper), difference), bound: 1e-5)
            }
        }
        attempt("NaN propagates through forward") { c in
            var poisoned = x
            poisoned[3] = .nan
            let y = try c.evaluate(kernels.forward, poisoned, hyper)
            c.record("NaN propagates through forward", y[3].isNaN, y[3].isNaN ? "" : "f(NaN) = \(y[3])")
        }
        let float32 = slots.filter { $0.1.supports(.float32) }
        if !float32.isEmpty {
            let check = "Float32 kernels agree with Float64 (\(float32.map(\.0).joined(separator: ", ")))"
            attempt(check) { c in
                var worst = 0.0
                for (_, kernel) in float32 {
                    let y32 = try kernels.run(kernel, try Tensor(shape: [x.count], scalars: x, dtype: .float32), hyper).doubles
                    worst = max(worst, Self.relativeError(y32, try c.evaluate(kernel, x, hyper)))
                }
                c.compare(check, error: worst, bound: 1e-4)
            }
        }
    }
}

// MARK: - Layers

extension ComponentChecker {
    /// The layer's tensors and a batch for the checks, in Float64.
    struct LayerSetup {
        var state: PluginLayerState
        var batch: Int
        var x: [Double]
        var g: [Double]
        var inputCount: Int { x.count }
        var outputCount: Int { g.count }
    }

    /// Calls `kernel` of one pass with raw buffers: inputs as arrays, outputs as sentinel buffers.
    private func run(
        _ pass: LayerPass, _ kernel: PluginKernel, x: [Double], weights: [[Double]], g: [Double]? = nil, tangentX: [Double]? = nil,
        tangentW: [[Double]]? = nil, tangentG: [Double]? = nil, directions: Int = 1, y: SentinelBuffer? = nil, d: SentinelBuffer? = nil,
        dWeights: [SentinelBuffer] = [], updates: [Tensor]? = nil, needed: Int64 = -1, nullWeightTangents: Bool = false
    ) throws {
        let shapes = pass.state.weights.map(\.shape)
        let tensors = try zip(weights, shapes).map { try Tensor(shape: $1, scalars: $0, dtype: .float64) }
        let tangents = try (tangentW ?? []).enumerated().map { k, values in try Tensor(shape: [directions] + shapes[k], scalars: values, dtype: .float64) }
        let xt = try Tensor(shape: [x.count], scalars: x, dtype: .float64)
        let gt = try g.map { try Tensor(shape: [$0.count], scalars: $0, dtype: .float64) }
        let Xt = try tangentX.map { try Tensor(shape: [$0.count], scalars: $0, dtype: .float64) }
        let Gt = try tangentG.map { try Tensor(shape: [$0.count], scalars: $0, dtype: .float64) }
        let weightTangents: [Tensor?] = nullWeightTangents ? shapes.map { _ in nil } : tangents
        try withPointerArray(tensors) { w in
            try withPointerArray(weightTangents) { wTangent in
                try withPointerArray(dWeights.map { Optional($0.raw) }) { dArray in
                    try pass.call(kernel, .float64) { a in
                        a.x = xt.unsafeAddress
                        a.w = w
                        a.g = gt?.unsafeAddress
                        a.tangentX = Xt?.unsafeAddress
                        a.tangentW = wTangent
                        a.tangentG = Gt?.unsafeAddress
                        a.directions = Int64(directions)
                        a.y = y?.raw
                        a.d = d?.raw
                        a.weightGradients = dArray
                        a.needed = needed
                    } updates: { updates }
                }
            }
        }
    }

    private func forward(_ pass: LayerPass, x: [Double], weights: [[Double]]) throws -> [Double] {
        let y = SentinelBuffer(pass.batch * pass.state.outputShape.reduce(1, *))
        try run(pass, pass.descriptor.forward, x: x, weights: weights, y: y, updates: pass.state.bufferUpdates(mode: pass.mode))
        return y.values
    }

    private func backward(_ pass: LayerPass, x: [Double], weights: [[Double]], g: [Double]) throws -> [Double] {
        let d = SentinelBuffer(x.count)
        let dWeights = weights.map { SentinelBuffer($0.count) }
        try run(pass, pass.descriptor.backward, x: x, weights: weights, g: g, d: d, dWeights: dWeights)
        return d.values + dWeights.flatMap(\.values)
    }

    mutating func layer(_ descriptor: LayerDescriptor) {
        let kernels = [descriptor.forward, descriptor.backward] + [descriptor.jvp, descriptor.backwardJVP].compactMap { $0 }
        guard kernels.allSatisfy({ $0.supports(.float64) }) else {
            record("has Float64 kernels (the checks run in Float64)", false, "a kernel has no Float64 function")
            return
        }
        // Without an example the layer is checked on vectors [5]; a layer that needs another
        // shape refuses it, and the first check says so.
        let input = descriptor.exampleInput ?? [5]
        var setup: LayerSetup?
        attempt("shape functions answer for the example input and edge sizes") { c in
            var answered: [String] = []
            let edges = [input, [1] + input.dropFirst(), [64] + input.dropFirst()]
            for shape in edges {
                var unused = RandomGenerator(seed: 1)
                do {
                    let state = try descriptor.makeState(arguments: c.arguments, input: shape, dtype: .float64, generator: &unused)
                    let again = try descriptor.shapes(hyper: state.hyper, strings: state.strings, input: shape)
                    guard again.output == state.outputShape, again.weights == state.weights.map(\.shape) else {
                        c.record("shape functions answer for the example input and edge sizes", false, "two calls for input \(shape) disagree")
                        return
                    }
                    answered.append("\(shape) -> \(state.outputShape)")
                } catch PluginError.kernelFailed(_, let slot, let message) {
                    // A refusal with a message is an answer too (a layer may not take every size),
                    // unless it refuses the example input.
                    guard shape != input else {
                        let hint = descriptor.exampleInput == nil ? " (without example_input the check uses [5]; declare example_input)" : ""
                        throw PluginError.kernelFailed(component: descriptor.name, slot: slot, message: message + hint)
                    }
                    answered.append("\(shape) refused: \(message)")
                }
            }
            var generator = c.generator
            let state = try descriptor.makeState(arguments: c.arguments, input: input, dtype: .float64, generator: &generator)
            c.generator = generator
            let batch = 3
            let x = c.normal(batch * input.reduce(1, *))
            let g = c.normal(batch * state.outputShape.reduce(1, *))
            setup = LayerSetup(state: state, batch: batch, x: x, g: g)
            c.record("shape functions answer for the example input and edge sizes", true, answered.joined(separator: "; "))
        }
        guard let setup else { return }
        let modes: [ForwardMode] = descriptor.forward.takes("m") || descriptor.backward.takes("m") ? [.training, .inference] : [.training]
        for mode in modes {
            layerPass(descriptor, setup, mode: mode, label: modes.count > 1 ? " (\(mode))" : "")
            guard !overran else { return skipRest() }
        }
        layerRandomness(descriptor, setup)
        layerGrowth(descriptor, setup)
        let secondOrder = [descriptor.jvp, descriptor.backwardJVP].compactMap { $0 }
        if descriptor.forward.supports(.float32), descriptor.backward.supports(.float32) {
            let hasRule = !secondOrder.isEmpty && secondOrder.allSatisfy { $0.supports(.float32) }
            let check = "Float32 kernels agree with Float64 (forward, backward\(hasRule ? ", second-order rule" : ""))"
            attempt(check) { c in
                // f = sum(y r) + 1/2 sum(y^2 r) in training mode with one seed: its value, its
                // gradient (backward) and a Hessian-vector product (the second-order rule).
                let r = c.normal(setup.outputCount), direction = [c.normal(setup.inputCount)] + setup.state.weights.map { c.normal($0.count) }
                func measure(_ dtype: DType) throws -> [Double] {
                    var state = setup.state
                    state.weights = state.weights.map { $0.converted(to: dtype) }
                    state.buffers = state.buffers.map { $0.converted(to: dtype) }
                    let shapes = [[setup.batch] + state.inputShape] + state.weights.map(\.shape)
                    let inputs = try ([setup.x] + state.weights.map(\.doubles)).enumerated().map { k, v in try Tensor(shape: shapes[k], scalars: v, dtype: dtype) }
                    let weight = try Tensor(shape: [setup.batch] + state.outputShape, scalars: r, dtype: dtype)
                    let f = { (t: [Tensor]) throws -> Tensor in
                        var moved = state
                        moved.weights = Array(t.dropFirst())
                        var context = ForwardContext(mode: .training, random: RandomGenerator(seed: 5))
                        let y = try moved.apply(t[0], context: &context)
                        return try (y * weight).sum() + (y.squared() * weight).sum() * 0.5
                    }
                    let leaves = inputs.map { $0.recorded() }
                    let value = try f(leaves)
                    var values = value.doubles + (try gradients(of: value, wrt: leaves)).flatMap(\.doubles)
                    if hasRule {
                        let along = try direction.enumerated().map { k, v in try Tensor(shape: shapes[k], scalars: v, dtype: dtype) }
                        values += try hessianVectorProduct(at: inputs, along: along, of: f).flatMap(\.doubles)
                    }
                    return values
                }
                c.compare(check, error: Self.relativeError(try measure(.float32), try measure(.float64)), bound: 1e-3)
            }
        }
    }

    /// The checks of one mode: outputs written, gradient, second-order rules, NaN.
    private mutating func layerPass(_ descriptor: LayerDescriptor, _ setup: LayerSetup, mode: ForwardMode, label: String) {
        let streams = RandomStreams(base: RandomGenerator(seed: 7), offset: 0, batch: setup.batch)
        let pass = LayerPass(state: setup.state, batch: setup.batch, mode: mode, random: streams)
        let weights = setup.state.weights.map(\.doubles)
        let (x, g) = (setup.x, setup.g)
        attempt("forward writes exactly its output\(label)") { c in
            let y = SentinelBuffer(setup.outputCount)
            try c.run(pass, descriptor.forward, x: x, weights: weights, y: y,
                      updates: setup.state.bufferUpdates(mode: mode))
            c.written("forward writes exactly its output\(label)", [("y", y)])
        }
        guard !overran else { return }
        attempt("backward writes exactly its gradients\(label)") { c in
            let d = SentinelBuffer(x.count)
            let dWeights = weights.map { SentinelBuffer($0.count) }
            try c.run(pass, descriptor.backward, x: x, weights: weights, g: g, d: d, dWeights: dWeights)
            c.written("backward writes exactly its gradients\(label)", [("d", d)] + zip(descriptor.weightNames, dWeights).map { ("D[\($0)]", $1) })
        }
        guard !overran else { return }
        let epsilon = 1e-6
        attempt("backward matches finite differences of forward\(label)") { c in
            let gradient = try c.backward(pass, x: x, weights: weights, g: g)
            var worst = 0.0
            for _ in 0..<3 {
                let vx = c.normal(x.count), vw = weights.map { c.normal($0.count) }
                func moved(_ s: Double) throws -> [Double] {
                    try c.forward(pass, x: zip(x, vx).map { $0 + s * $1 }, weights: zip(weights, vw).map { w, v in zip(w, v).map { $0 + s * $1 } })
                }
                let numeric = (Self.dot(g, try moved(epsilon)) - Self.dot(g, try moved(-epsilon))) / (2 * epsilon)
                let analytic = Self.dot(gradient, vx + vw.flatMap { $0 })
                worst = max(worst, abs(numeric - analytic) / max(1e-8, abs(numeric), abs(analytic)))
            }
            c.compare("backward matches finite differences of forward\(label)", error: worst, bound: 1e-5, what: "worst relative error over 3 directions")
        }
        if descriptor.backward.takes("q") {
            attempt("backward computes each needed gradient alone as it does together\(label)") { c in
                let all = try c.backward(pass, x: x, weights: weights, g: g)
                let sizes = [x.count] + weights.map(\.count)
                var worst = 0.0
                // One bit at a time, as the host asks when one tensor alone needs a gradient.
                for bit in 0..<sizes.count {
                    let d = SentinelBuffer(x.count)
                    let dWeights = weights.map { SentinelBuffer($0.count) }
                    try c.run(pass, descriptor.backward, x: x, weights: weights, g: g, d: d, dWeights: dWeights, needed: Int64(1) << Int64(bit))
                    let start = sizes.prefix(bit).reduce(0, +)
                    let alone = bit == 0 ? d.values : dWeights[bit - 1].values
                    worst = max(worst, Self.relativeError(alone, Array(all[start..<(start + sizes[bit])])))
                }
                c.compare("backward computes each needed gradient alone as it does together\(label)", error: worst, bound: 1e-12,
                          what: "'q' with one bit set, worst relative error")
            }
        }
        if let jvp = descriptor.jvp, let backwardJVP = descriptor.backwardJVP {
            let k = jvp.takes("k") ? 3 : 1
            let tangentX = normal(k * x.count), tangentW = weights.map { normal(k * $0.count) }
            let tangentG = normal(k * g.count)
            attempt("jvp agrees with backward (dot-product test)\(label)") { c in
                let y = SentinelBuffer(k * g.count)
                try c.run(pass, jvp, x: x, weights: weights, tangentX: tangentX, tangentW: tangentW, directions: k, y: y)
                c.written("jvp writes exactly its output\(label)", [("y", y)])
                let gradient = try c.backward(pass, x: x, weights: weights, g: g)
                var worst = 0.0
                for t in 0..<k {
                    let direction = Array(tangentX[(t * x.count)..<((t + 1) * x.count)])
                        + zip(weights, tangentW).flatMap { w, tw in tw[(t * w.count)..<((t + 1) * w.count)] }
                    let lhs = Self.dot(g, Array(y.values[(t * g.count)..<((t + 1) * g.count)]))
                    let rhs = Self.dot(gradient, direction)
                    worst = max(worst, abs(lhs - rhs) / max(1e-8, abs(lhs), abs(rhs)))
                }
                c.compare("jvp agrees with backward (dot-product test)\(label)", error: worst, bound: 1e-9, what: "<g, J v> vs <J^T g, v>, relative error")
            }
            attempt("backward_jvp matches finite differences of backward\(label)") { c in
                let d = SentinelBuffer(k * x.count)
                let dWeights = weights.map { SentinelBuffer(k * $0.count) }
                let zeroG = backwardJVP.takes("G") ? [Double](repeating: 0, count: k * g.count) : nil
                try c.run(pass, backwardJVP, x: x, weights: weights, g: g, tangentX: tangentX, tangentW: tangentW, tangentG: zeroG,
                          directions: k, d: d, dWeights: dWeights)
                c.written("backward_jvp writes exactly its gradients\(label)", [("d", d)] + zip(descriptor.weightNames, dWeights).map { ("D[\($0)]", $1) })
                var worst = 0.0
                for t in 0..<k {
                    let vx = Array(tangentX[(t * x.count)..<((t + 1) * x.count)])
                    let vw = zip(weights, tangentW).map { w, tw in Array(tw[(t * w.count)..<((t + 1) * w.count)]) }
                    func moved(_ s: Double) throws -> [Double] {
                        try c.backward(pass, x: zip(x, vx).map { $0 + s * $1 }, weights: zip(weights, vw).map { w, v in zip(w, v).map { $0 + s * $1 } }, g: g)
                    }
                    let numeric = zip(try moved(epsilon), try moved(-epsilon)).map { ($0 - $1) / (2 * epsilon) }
                    let analytic = Array(d.values[(t * x.count)..<((t + 1) * x.count)])
                        + zip(weights, dWeights).flatMap { w, b in b.values[(t * w.count)..<((t + 1) * w.count)] }
                    worst = max(worst, Self.relativeError(analytic, numeric))
                }
                c.compare("backward_jvp matches finite differences of backward\(label)", error: worst, bound: 1e-5)
            }
            if backwardJVP.takes("G") {
                attempt("backward_jvp's G term equals backward of G\(label)") { c in
                    let d = SentinelBuffer(k * x.count)
                    let dWeights = weights.map { SentinelBuffer(k * $0.count) }
                    try c.run(pass, backwardJVP, x: x, weights: weights, g: g, tangentX: [Double](repeating: 0, count: k * x.count),
                              tangentW: weights.map { [Double](repeating: 0, count: k * $0.count) }, tangentG: tangentG, directions: k, d: d, dWeights: dWeights)
                    var worst = 0.0
                    for t in 0..<k {
                        let expected = try c.backward(pass, x: x, weights: weights, g: Array(tangentG[(t * g.count)..<((t + 1) * g.count)]))
                        let got = Array(d.values[(t * x.count)..<((t + 1) * x.count)])
                            + zip(weights, dWeights).flatMap { w, b in b.values[(t * w.count)..<((t + 1) * w.count)] }
                        worst = max(worst, Self.relativeError(got, expected))
                    }
                    c.compare("backward_jvp's G term equals backward of G\(label)", error: worst, bound: 1e-10)
                }
            }
            if k > 1 {
                attempt("batched rules take NULL for zero tangents\(label)") { c in
                    let zeros = SentinelBuffer(k * g.count)
                    try c.run(pass, jvp, x: x, weights: weights, directions: k, y: zeros, nullWeightTangents: true)
                    let d = SentinelBuffer(k * x.count)
                    let dWeights = weights.map { SentinelBuffer(k * $0.count) }
                    try c.run(pass, backwardJVP, x: x, weights: weights, g: g, directions: k, d: d, dWeights: dWeights, nullWeightTangents: true)
                    let withNull = SentinelBuffer(k * g.count), withZeros = SentinelBuffer(k * g.count)
                    try c.run(pass, jvp, x: x, weights: weights, tangentX: tangentX, directions: k, y: withNull, nullWeightTangents: true)
                    try c.run(pass, jvp, x: x, weights: weights, tangentX: tangentX, tangentW: weights.map { [Double](repeating: 0, count: k * $0.count) },
                              directions: k, y: withZeros)
                    // The mixes the host sends: the first layer's input without a tangent (X NULL),
                    // and reverse-over-reverse's G NULL.
                    let noX = SentinelBuffer(k * g.count), zeroX = SentinelBuffer(k * g.count)
                    try c.run(pass, jvp, x: x, weights: weights, tangentW: tangentW, directions: k, y: noX)
                    try c.run(pass, jvp, x: x, weights: weights, tangentX: [Double](repeating: 0, count: k * x.count), tangentW: tangentW, directions: k, y: zeroX)
                    func backwardJVPValues(_ X: [Double]?, _ G: [Double]?) throws -> [Double] {
                        let d = SentinelBuffer(k * x.count)
                        let dWeights = weights.map { SentinelBuffer(k * $0.count) }
                        try c.run(pass, backwardJVP, x: x, weights: weights, g: g, tangentX: X, tangentW: tangentW, tangentG: G, directions: k, d: d, dWeights: dWeights)
                        return d.values + dWeights.flatMap(\.values)
                    }
                    let zeroG = [Double](repeating: 0, count: k * g.count), zeroXs = [Double](repeating: 0, count: k * x.count)
                    let mixes = [
                        Self.relativeError(withNull.values, withZeros.values), Self.relativeError(noX.values, zeroX.values),
                        Self.relativeError(try backwardJVPValues(tangentX, nil), try backwardJVPValues(tangentX, zeroG)),
                        Self.relativeError(try backwardJVPValues(nil, tangentG), try backwardJVPValues(zeroXs, tangentG)),
                    ]
                    let allZero = (zeros.values + d.values + dWeights.flatMap(\.values)).allSatisfy { $0 == 0 }
                    let worst = mixes.max() ?? 0
                    c.record("batched rules take NULL for zero tangents\(label)", allZero && worst <= 1e-12,
                             allZero ? "NULL against zero tangents (W; X; G in backward_jvp; X in backward_jvp): worst relative error \(Self.format(worst))"
                                 : "all-NULL tangents gave non-zero (or unwritten) outputs")
                }
                attempt("a batched jvp call equals one call per direction\(label)") { c in
                    let all = SentinelBuffer(k * g.count)
                    try c.run(pass, jvp, x: x, weights: weights, tangentX: tangentX, tangentW: tangentW, directions: k, y: all)
                    var single: [Double] = []
                    for t in 0..<k {
                        let y = SentinelBuffer(g.count)
                        try c.run(pass, jvp, x: x, weights: weights, tangentX: Array(tangentX[(t * x.count)..<((t + 1) * x.count)]),
                                  tangentW: zip(weights, tangentW).map { w, tw in Array(tw[(t * w.count)..<((t + 1) * w.count)]) }, directions: 1, y: y)
                        single += y.values
                    }
                    c.compare("a batched jvp call equals one call per direction\(label)", error: Self.relativeError(all.values, single), bound: 1e-12)
                }
            }
        }
        attempt("NaN propagates through forward\(label)") { c in
            var poisoned = x
            poisoned[0] = .nan
            let y = try c.forward(pass, x: poisoned, weights: weights)
            c.record("NaN propagates through forward\(label)", y.contains { $0.isNaN }, y.contains { $0.isNaN } ? "" : "a NaN input gave no NaN output")
        }
        if mode == .inference {
            attempt("inference is deterministic") { c in
                let once = try c.forward(pass, x: x, weights: weights), twice = try c.forward(pass, x: x, weights: weights)
                c.record("inference is deterministic", once.elementsEqual(twice, by: { $0.bitPattern == $1.bitPattern }))
            }
        }
        if mode == .training, descriptor.forward.takes("U") {
            attempt("training reports finite buffer updates") { c in
                var context = ForwardContext(mode: .training)
                _ = try setup.state.apply(try Tensor(shape: [setup.batch] + setup.state.inputShape, scalars: x, dtype: .float64), context: &context)
                let updates = descriptor.bufferNames.compactMap { context.bufferUpdates[$0] }
                let finite = updates.allSatisfy { $0.doubles.allSatisfy(\.isFinite) }
                c.record("training reports finite buffer updates", updates.count == descriptor.bufferNames.count && finite, "\(updates.count) of \(descriptor.bufferNames.count) buffers reported")
            }
        }
    }

    /// Random streams: one seed gives one output, another seed another.
    private mutating func layerRandomness(_ descriptor: LayerDescriptor, _ setup: LayerSetup) {
        guard descriptor.usesRandom else { return }
        attempt("random draws follow the seed") { c in
            func output(_ seed: UInt64) throws -> [Double] {
                let pass = LayerPass(state: setup.state, batch: setup.batch, mode: .training, random: RandomStreams(base: RandomGenerator(seed: seed), offset: 0, batch: setup.batch))
                return try c.forward(pass, x: setup.x, weights: setup.state.weights.map(\.doubles))
            }
            let a = try output(11), b = try output(11), other = try output(12)
            let same = a.elementsEqual(b, by: { $0.bitPattern == $1.bitPattern })
            c.record("random draws follow the seed", same && a != other, same ? (a != other ? "" : "another seed gave the same output") : "one seed gave two outputs")
        }
    }

    /// Growth: widening preserves the function; the identity and zero layers are what they say.
    private mutating func layerGrowth(_ descriptor: LayerDescriptor, _ setup: LayerSetup) {
        let x = try? Tensor(shape: [setup.batch] + setup.state.inputShape, scalars: setup.x, dtype: .float64)
        guard let x else { return }
        func apply(_ state: PluginLayerState, _ input: Tensor) throws -> Tensor {
            var context = ForwardContext(mode: .inference)
            return try state.apply(input, context: &context)
        }
        switch descriptor.role {
        case SADDLE_TRANSFORM_UNITS:
            attempt("widening preserves the function (Net2Wider through two of these layers)") { c in
                var generator = c.generator
                let first = setup.state
                let second = try first.fresh(arguments: c.arguments, input: first.outputShape, using: &generator)
                let units = first.outputShape[0]
                let mapping = Array(0..<units) + [0, units - 1]
                let counts = try Replication.counts(mapping, units: units)
                let before = try apply(second, try apply(first, x))
                let widened = try first.wideningOutputs(mapping, noise: 0, using: &generator)
                let reading = try second.wideningInputs(mapping, counts: counts, split: 0, using: &generator)
                let after = try apply(reading, try apply(widened, x))
                c.generator = generator
                c.compare("widening preserves the function (Net2Wider through two of these layers)", error: Self.relativeError(after.doubles, before.doubles), bound: 1e-10)
            }
            if descriptor.raw.identity != nil {
                attempt("identity and zero layers map to the input and to zero") { c in
                    let y = try apply(setup.state, x)
                    let identity = try apply(try setup.state.squareLayer(identity: true), y)
                    let zero = try apply(try setup.state.squareLayer(identity: false), y)
                    let error = max(Self.relativeError(identity.doubles, y.doubles), zero.doubles.map(abs).max() ?? 0)
                    c.compare("identity and zero layers map to the input and to zero", error: error, bound: 1e-12)
                }
            }
        case SADDLE_TRANSFORM_FEATURE_WISE:
            attempt("replicating features replicates outputs") { c in
                // Random weights and (positive) buffers, so a feature mixed up shows.
                var state = setup.state
                state.weights = state.weights.map { Tensor.randomNormal($0.shape, dtype: .float64, using: &c.generator) + 1 }
                state.buffers = state.buffers.map { Tensor.randomUniform($0.shape, in: 0.5...2, dtype: .float64, using: &c.generator) }
                let features = state.inputShape[0]
                let mapping = Array(0..<features) + [0]
                func gather(_ t: Tensor) throws -> Tensor {
                    try t.permuted([1, 0] + Array(2..<t.rank)).gatheringRows(mapping).permuted([1, 0] + Array(2..<t.rank))
                }
                let wider = try state.mappingFeatures(mapping)
                var worst = 0.0
                for mode in [ForwardMode.inference, .training] {
                    var a = ForwardContext(mode: mode, random: RandomGenerator(seed: 3)), b = ForwardContext(mode: mode, random: RandomGenerator(seed: 3))
                    let expected = try gather(try state.apply(x, context: &a))
                    let got = try wider.apply(try gather(x), context: &b)
                    // Training-mode dropout draws per element, so replicas differ there: only
                    // layers without random streams are compared in training mode.
                    if mode == .training, descriptor.usesRandom { continue }
                    worst = max(worst, Self.relativeError(got.doubles, expected.doubles))
                }
                c.compare("replicating features replicates outputs", error: worst, bound: 1e-12)
            }
        default:
            break
        }
    }
}

// MARK: - Optimizers

extension ComponentChecker {
    mutating func optimizer(_ kernel: OptimizerKernel) {
        guard kernel.update.supports(.float64) else {
            record("has a Float64 update kernel (the checks run in Float64)", false, "no Float64 update")
            return
        }
        let shapes = [[7], [3, 4], [2, 3, 2, 2], [1]]
        var parameters = NamedTensors()
        for (k, shape) in shapes.enumerated() { parameters["p\(k)"] = Tensor.randomNormal(shape, dtype: .float64, using: &generator) }
        let gradients = (0..<5).map { _ in
            NamedTensors(parameters.paths.map { path in (path, Tensor.randomNormal(parameters[path]!.shape, dtype: .float64, using: &generator)) })
        }
        let arguments = self.arguments
        func optimizer() throws -> PluginOptimizer { try PluginOptimizer(kernel: kernel, arguments: arguments) }
        attempt("updates parameters of ranks 1, 2 and 4 to finite values") { c in
            var p = parameters
            var o = try optimizer()
            for g in gradients.prefix(2) { try o.update(&p, gradient: g) }
            let finite = p.tensors.allSatisfy { $0.doubles.allSatisfy(\.isFinite) }
            let moved = zip(p.tensors, parameters.tensors).contains { $0.doubles != $1.doubles }
            c.record("updates parameters of ranks 1, 2 and 4 to finite values", finite && moved, finite ? (moved ? "shapes \(shapes)" : "no parameter changed") : "a parameter became non-finite")
        }
        attempt("state round-trips through a checkpoint") { c in
            var straight = parameters
            var o = try optimizer()
            for g in gradients { try o.update(&straight, gradient: g) }
            var resumed = parameters
            var first = try optimizer()
            for g in gradients.prefix(3) { try first.update(&resumed, gradient: g) }
            let file = try Safetensors.encode(first.state, metadata: [])
            let decoded = try Safetensors.decode(file, file: "state.safetensors").entries
            var second = try optimizer()
            second.state = NamedTensors(decoded.map { ($0.name, $0.tensor) })
            for g in gradients.suffix(2) { try second.update(&resumed, gradient: g) }
            let same = zip(straight.tensors, resumed.tensors).allSatisfy { a, b in a.doubles.elementsEqual(b.doubles, by: { $0.bitPattern == $1.bitPattern }) }
            c.record("state round-trips through a checkpoint", same, same ? "5 steps straight = 3 steps, save, load, 2 steps (bit for bit)" : "resuming from saved state changed the result")
        }
        attempt("NaN in the gradient is not lost") { c in
            var p = parameters
            var o = try optimizer()
            var poisoned = gradients[0]
            var g0 = poisoned["p1"]!.doubles
            g0[5] = .nan
            poisoned["p1"] = try Tensor(shape: [3, 4], scalars: g0, dtype: .float64)
            do {
                try o.update(&p, gradient: poisoned)
                let nan = p["p1"]!.doubles.contains { $0.isNaN }
                c.record("NaN in the gradient is not lost", nan, nan ? "the parameter became NaN" : "the parameter stayed finite: a NaN gradient would go unnoticed")
            } catch {
                c.record("NaN in the gradient is not lost", true, "the kernel refused it: \(error)")
            }
        }
        if kernel.update.supports(.float32) {
            attempt("Float32 update agrees with Float64") { c in
                var p64 = parameters, p32 = NamedTensors(parameters.paths.map { ($0, parameters[$0]!.converted(to: .float32)) })
                var o64 = try optimizer(), o32 = try optimizer()
                for g in gradients.prefix(3) {
                    try o64.update(&p64, gradient: g)
                    try o32.update(&p32, gradient: NamedTensors(g.paths.map { ($0, g[$0]!.converted(to: .float32)) }))
                }
                let error = zip(p32.tensors, p64.tensors).map { Self.relativeError($0.doubles, $1.doubles) }.max() ?? 0
                c.compare("Float32 update agrees with Float64", error: error, bound: 1e-4)
            }
        }
    }
}
