import CSaddlePluginABI
import SaddleCore

/// Collects what a plugin declares and registers during its entry point. Descriptors are
/// validated and copied into `ComponentEntry` values here; nothing reaches a registry until
/// the entry point has returned successfully.
final class RegistrationSession {
    struct Info {
        var name: String
        var version: String
        var summary: String
        var abi: String
    }

    let path: String
    let digest: String
    var info: Info?
    var entries: [ComponentEntry] = []
    /// The first error; after it every call fails.
    var error: PluginError?
    /// The last message the plugin reported through the host.
    var reported: String?

    init(path: String, digest: String) {
        self.path = path
        self.digest = digest
    }

    static func from(_ context: UnsafeMutableRawPointer?) -> RegistrationSession {
        // The host always passes its own context back; it is set before the entry point runs.
        Unmanaged<RegistrationSession>.fromOpaque(context!).takeUnretainedValue()  // context is never nil
    }

    private func fail(_ failure: PluginError) -> Int32 {
        if error == nil { error = failure }
        return SADDLE_ERROR
    }

    private func origin() -> ComponentOrigin {
        .plugin(name: info?.name ?? "?", version: info?.version ?? "?", path: path)
    }

    private func string(_ pointer: UnsafePointer<CChar>?) -> String? { pointer.map { String(cString: $0) } }

    func declare(_ pointer: UnsafePointer<saddle_plugin_info>?) -> Int32 {
        guard error == nil else { return SADDLE_ERROR }
        guard let pointer else { return fail(.initializationFailed(path: path, message: "declare() received no info")) }
        let size = Int(pointer.pointee.struct_size)
        guard size >= MemoryLayout<saddle_plugin_info>.size else {
            return fail(.structTooSmall(what: "\(path): saddle_plugin_info", size: size, required: MemoryLayout<saddle_plugin_info>.size))
        }
        let info = pointer.pointee
        let abi = "\(info.abi_major).\(info.abi_minor)"
        guard Int32(info.abi_major) == SADDLE_PLUGIN_ABI_MAJOR, Int32(info.abi_minor) <= SADDLE_PLUGIN_ABI_MINOR else {
            return fail(.abiMismatch(path: path, plugin: abi, host: "\(SADDLE_PLUGIN_ABI_MAJOR).\(SADDLE_PLUGIN_ABI_MINOR)"))
        }
        guard let name = string(info.name), !name.isEmpty, !name.contains("."),
            name.allSatisfy({ ($0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "_" })
        else {
            return fail(.initializationFailed(path: path, message: "the plugin name must be a lowercase word (its namespace), got \(string(info.name) ?? "nothing")"))
        }
        self.info = Info(name: name, version: string(info.version) ?? "unversioned", summary: string(info.summary) ?? "", abi: abi)
        return SADDLE_OK
    }

    /// Checks the component's name as the registry will (lowercase words, the plugin's own
    /// namespace), so that `plugins inspect` accepts exactly what loading accepts.
    private func checkName(_ component: String, plugin: Info) -> Bool {
        guard component.hasPrefix(plugin.name + ".") else {
            _ = fail(.invalidDescriptor(component: component, reason: "a plugin's components are named \(plugin.name).<name>, in its own namespace"))
            return false
        }
        do {
            try Registry.checkName(component, origin: origin())
        } catch {
            _ = fail(.invalidDescriptor(component: component, reason: "\(error)"))
            return false
        }
        // Layers and activations share one namespace, as in the registry.
        func family(_ kind: String) -> String { kind == "activation" ? "layer" : kind }
        if entries.contains(where: { $0.name == component && family($0.kind.rawValue) == family(pendingKind) }) {
            _ = fail(.invalidDescriptor(component: component, reason: "registered twice by this plugin"))
            return false
        }
        return true
    }

    /// The kind being registered (for the duplicate check).
    private var pendingKind = ""

    /// Checks the common header of a component descriptor.
    private func begin(_ kind: String, size: UInt32, required: Int, name: UnsafePointer<CChar>?) -> String? {
        guard error == nil else { return nil }
        guard let plugin = info else {
            _ = fail(.initializationFailed(path: path, message: "register_\(kind) was called before declare()"))
            return nil
        }
        let component = string(name) ?? "(unnamed)"
        guard Int(size) >= required else {
            _ = fail(.structTooSmall(what: "\(component): saddle_\(kind)", size: Int(size), required: required))
            return nil
        }
        if component.contains("."), !component.hasPrefix(plugin.name + ".") {
            _ = fail(.invalidDescriptor(component: component, reason: "outside the plugin's namespace \"\(plugin.name)\""))
            return nil
        }
        pendingKind = kind
        return checkName(component, plugin: plugin) ? component : nil
    }

    private func parameters(_ pointer: UnsafePointer<saddle_parameter>?, count: UInt32, component: String) throws -> [ParameterSpec] {
        guard count > 0 else { return [] }
        guard let pointer else { throw PluginError.invalidDescriptor(component: component, reason: "parameter_count is \(count) but parameters is NULL") }
        let specs: [ParameterSpec] = try (0..<Int(count)).map { index in
            let p = pointer[index]
            guard Int(p.struct_size) >= MemoryLayout<saddle_parameter>.size else {
                throw PluginError.structTooSmall(what: "\(component) parameter \(index): saddle_parameter", size: Int(p.struct_size), required: MemoryLayout<saddle_parameter>.size)
            }
            guard let name = string(p.name), !name.isEmpty else {
                throw PluginError.invalidDescriptor(component: component, reason: "parameter \(index) has no name")
            }
            guard p.minimum <= p.maximum, !p.minimum.isNaN, !p.maximum.isNaN else {
                throw PluginError.invalidDescriptor(component: component, reason: "parameter \(name) has the range \(p.minimum)...\(p.maximum)")
            }
            let summary = string(p.summary) ?? ""
            let type: ParameterSpec.ValueType
            var defaultValue: JSONValue? = p.required != 0 ? nil : .number(p.default_value)
            switch p.type {
            case SADDLE_PARAMETER_NUMBER:
                type = .number(p.minimum...p.maximum, exclusiveMinimum: false)
            case SADDLE_PARAMETER_INTEGER:
                // Whole numbers within +-9e15 (exact in a Double); an empty range is refused.
                let bound = 9.0e15
                let low = Swift.min(Swift.max(p.minimum, -bound), bound).rounded(.up)
                let high = Swift.max(Swift.min(p.maximum, bound), -bound).rounded(.down)
                guard low <= high else {
                    throw PluginError.invalidDescriptor(component: component, reason: "integer parameter \(name) has no whole number in \(p.minimum)...\(p.maximum)")
                }
                type = .integer(Int(low)...Int(high))
            case SADDLE_PARAMETER_BOOLEAN:
                type = .boolean
                if p.required == 0 { defaultValue = .bool(p.default_value != 0) }
            default:
                throw PluginError.invalidDescriptor(component: component, reason: "parameter \(name) has unknown type \(p.type)")
            }
            let spec = ParameterSpec(name, type, default: defaultValue, summary)
            // A default must itself be a value the parameter accepts (not NaN, in range, whole
            // for integers): kernels receive it as given.
            if let defaultValue {
                do {
                    try Arguments.check(defaultValue, against: spec, at: JSONPath().appending(name))
                } catch {
                    throw PluginError.invalidDescriptor(component: component, reason: "parameter \(name) has the default \(p.default_value), which its own range refuses")
                }
            }
            return spec
        }
        if let repeated = Dictionary(grouping: specs, by: \.name).first(where: { $0.value.count > 1 })?.key {
            throw PluginError.invalidDescriptor(component: component, reason: "parameter \(repeated) is declared twice")
        }
        return specs
    }

    private func names(_ pointer: UnsafePointer<UnsafePointer<CChar>?>?, count: UInt32, what: String, component: String) throws -> [String] {
        guard count > 0 else { return [] }
        guard let pointer else { throw PluginError.invalidDescriptor(component: component, reason: "\(what) count is \(count) but the names are NULL") }
        let names = try (0..<Int(count)).map { index in
            guard let name = string(pointer[index]), !name.isEmpty, !name.contains(".") else {
                throw PluginError.invalidDescriptor(component: component, reason: "\(what) \(index) needs a name without dots")
            }
            // An optimizer's step count lives beside its named buffers as `step`.
            guard what != "state" || name != "step" else {
                throw PluginError.invalidDescriptor(component: component, reason: "state name \"step\" is reserved for the step count the host keeps")
            }
            return name
        }
        if let repeated = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw PluginError.invalidDescriptor(component: component, reason: "\(what) name \(repeated) is declared twice")
        }
        return names
    }

    func registerActivation(_ pointer: UnsafePointer<saddle_activation>?) -> Int32 {
        guard let pointer else { return fail(.initializationFailed(path: path, message: "register_activation received NULL")) }
        let d = pointer.pointee
        guard let component = begin("activation", size: d.struct_size, required: MemoryLayout<saddle_activation>.size, name: d.name) else { return SADDLE_ERROR }
        do {
            let allowed = "nxyhe"
            guard let forward = try PluginKernel(d.forward, component: component, slot: "forward", allowed: allowed, required: "nxy"),
                let derivative = try PluginKernel(d.derivative, component: component, slot: "derivative", allowed: allowed, required: "nxy")
            else { throw PluginError.invalidDescriptor(component: component, reason: "an activation needs forward and derivative kernels") }
            let kernels = ActivationKernels(
                name: component, forward: forward, derivative: derivative,
                secondDerivative: try PluginKernel(d.second_derivative, component: component, slot: "second_derivative", allowed: allowed, required: "nxy"))
            let specs = try parameters(d.parameters, count: d.parameter_count, component: component)
            entries.append(ComponentEntry(
                kind: .activation, name: component, summary: string(d.summary) ?? "", parameters: specs, origin: origin(),
                identity: "plugin:\(digest)|\(component)",
                factory: .layer { args, context in
                    try requireKernels([forward, derivative], for: context.dtype, component: component, at: args.path)
                    return PluginActivation(kernels: kernels, arguments: args.values)
                }))
            return SADDLE_OK
        } catch let failure as PluginError {
            return fail(failure)
        } catch {
            return fail(.invalidDescriptor(component: component, reason: "\(error)"))
        }
    }

    func registerLayer(_ pointer: UnsafePointer<saddle_layer>?) -> Int32 {
        guard let pointer else { return fail(.initializationFailed(path: path, message: "register_layer received NULL")) }
        let d = pointer.pointee
        guard let component = begin("layer", size: d.struct_size, required: MemoryLayout<saddle_layer>.size, name: d.name) else { return SADDLE_ERROR }
        do {
            guard let outputFeatures = d.output_features, let weightShape = d.weight_shape, let initialize = d.initialize else {
                throw PluginError.invalidDescriptor(component: component, reason: "output_features, weight_shape and initialize are required")
            }
            let weights = try names(d.weight_names, count: d.weight_count, what: "weight", component: component)
            let needsWeights = weights.isEmpty ? "" : "w"
            guard let forward = try PluginKernel(d.forward, component: component, slot: "forward", allowed: "bioxwyhe", required: "bxy" + needsWeights),
                let backward = try PluginKernel(
                    d.backward, component: component, slot: "backward", allowed: "bioxwgdDhe", required: "bgd" + (weights.isEmpty ? "" : "D"))
            else { throw PluginError.invalidDescriptor(component: component, reason: "a layer needs forward and backward kernels") }
            let jvp = try PluginKernel(d.jvp, component: component, slot: "jvp", allowed: "bioxwXWyhe", required: "bXy")
            let backwardJVP = try PluginKernel(d.backward_jvp, component: component, slot: "backward_jvp", allowed: "bioxwgXWdDhe", required: "bd")
            let kernels = LayerKernels(
                name: component, weightNames: weights, outputFeatures: outputFeatures, weightShape: weightShape, initialize: initialize,
                forward: forward, backward: backward, jvp: jvp, backwardJVP: backwardJVP)
            let specs = try parameters(d.parameters, count: d.parameter_count, component: component)
            entries.append(ComponentEntry(
                kind: .layer, name: component, summary: string(d.summary) ?? "", parameters: specs, origin: origin(),
                identity: "plugin:\(digest)|\(component)",
                factory: .layer { args, context in
                    try requireRank(context.inputShape, 1, layer: component, expected: "[features]", at: args.path)
                    try requireKernels([forward, backward], for: context.dtype, component: component, at: args.path)
                    var memory = context.memory
                    let layer = try PluginLayer(
                        kernels: kernels, arguments: args.values, inputFeatures: context.inputShape[0], dtype: context.dtype,
                        generator: &context.generator,
                        reserving: { shape in try memory.reserve(parameters: shape, layer: component, at: args.path) })
                    context.memory = memory
                    context.inputShape = [layer.outputFeatures]
                    return layer
                }))
            return SADDLE_OK
        } catch let failure as PluginError {
            return fail(failure)
        } catch {
            return fail(.invalidDescriptor(component: component, reason: "\(error)"))
        }
    }

    func registerOptimizer(_ pointer: UnsafePointer<saddle_optimizer>?) -> Int32 {
        guard let pointer else { return fail(.initializationFailed(path: path, message: "register_optimizer received NULL")) }
        let d = pointer.pointee
        guard let component = begin("optimizer", size: d.struct_size, required: MemoryLayout<saddle_optimizer>.size, name: d.name) else { return SADDLE_ERROR }
        do {
            guard let update = try PluginKernel(d.update, component: component, slot: "update", allowed: "npgshlte", required: "npg") else {
                throw PluginError.invalidDescriptor(component: component, reason: "an optimizer needs an update kernel")
            }
            let states = try names(d.state_names, count: d.state_count, what: "state", component: component)
            var specs = try parameters(d.parameters, count: d.parameter_count, component: component)
            let declaredParameters = specs.count
            guard specs.contains(where: { $0.name == "learning_rate" }) else {
                throw PluginError.invalidDescriptor(component: component, reason: "an optimizer must declare a learning_rate parameter")
            }
            if !specs.contains(where: { $0.name == "max_gradient_norm" }) {
                specs.append(ParameterSpec(
                    "max_gradient_norm", .number(0...1e12, exclusiveMinimum: true), default: .null, "clip the global gradient norm to this (null: no clipping)"))
            }
            let kernel = OptimizerKernel(name: component, stateNames: states, update: update, declaredParameters: declaredParameters)
            entries.append(ComponentEntry(
                kind: .optimizer, name: component, summary: string(d.summary) ?? "", parameters: specs, origin: origin(),
                identity: "plugin:\(digest)|\(component)",
                factory: .optimizer { args in try PluginOptimizer(kernel: kernel, arguments: args.values) }))
            return SADDLE_OK
        } catch let failure as PluginError {
            return fail(failure)
        } catch {
            return fail(.invalidDescriptor(component: component, reason: "\(error)"))
        }
    }
}

/// Throws unless every kernel has a version for `dtype` (so `validate` refuses a Float32 run
/// whose plugin only offers Float64 kernels, instead of training failing at the first step).
private func requireKernels(_ kernels: [PluginKernel], for dtype: DType, component: String, at path: JSONPath) throws {
    for kernel in kernels where !kernel.supports(dtype) {
        throw ConfigurationError(
            path, "\(component) has no \(dtype.rawValue) \(kernel.slot) kernel (it offers \(kernel.dtypesText.isEmpty ? "none" : kernel.dtypesText)); set the run's \"dtype\" accordingly")
    }
}

/// Descriptor validation without a shared library: what a plugin's entry point would register
/// through the host table, checked exactly as loading checks it. For the descriptor fuzzer and
/// the plugin checker; the descriptors' function pointers are stored, never called.
package enum DescriptorCheck {
    /// A plugin's registration calls, in order.
    package enum Call {
        case activation(UnsafePointer<saddle_activation>?)
        case layer(UnsafePointer<saddle_layer>?)
        case optimizer(UnsafePointer<saddle_optimizer>?)
    }

    /// Declares `info`, makes `calls`, and registers the entries into an empty registry as
    /// loading would. Returns the entries, or the first error as loading would report it.
    package static func register(info: UnsafePointer<saddle_plugin_info>?, calls: [Call], path: String = "descriptor") -> Result<[ComponentEntry], Error> {
        let session = RegistrationSession(path: path, digest: "0")
        guard session.declare(info) == SADDLE_OK else { return .failure(session.error ?? PluginError.initializationFailed(path: path, message: "declare failed")) }
        for call in calls {
            let status: Int32
            switch call {
            case .activation(let pointer): status = session.registerActivation(pointer)
            case .layer(let pointer): status = session.registerLayer(pointer)
            case .optimizer(let pointer): status = session.registerOptimizer(pointer)
            }
            if status != SADDLE_OK { break }
        }
        if let error = session.error { return .failure(error) }
        var registry = Registry.builtin
        do {
            try registry.register(all: session.entries)
        } catch {
            return .failure(error)
        }
        return .success(session.entries)
    }
}
