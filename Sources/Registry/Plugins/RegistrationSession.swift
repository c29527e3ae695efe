import CSaddlePluginABI
import CSaddlePluginHost
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
        var minor: Int
        var threadSafe: Bool
    }

    let path: String
    let digest: String
    var info: Info?
    var entries: [ComponentEntry] = []
    /// The first error; after it every call fails.
    var error: PluginError?
    /// The last message the plugin reported through the host.
    var reported: String?
    /// The lock every call into the plugin runs under, unless it declared itself thread-safe.
    var lock: PluginLock?
    /// What each component declared, for `plugins inspect` and `plugins check`.
    var descriptors: [String: PluginComponent] = [:]

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

    /// Reads the descriptor at `pointer` into a full current struct, copying at most its
    /// declared size and at most `limit` bytes (the size of the plugin's declared ABI version,
    /// so no field is ever copied in part): fields beyond read as zero, and nothing past the
    /// plugin's struct is read. Returns the declared size too.
    static func copy<T>(_ pointer: UnsafePointer<T>, limit: Int = MemoryLayout<T>.size) -> (T, Int) {
        let declared = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
        let full = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { full.deallocate() }
        saddle_copy_descriptor(full, pointer, Swift.min(declared, limit), MemoryLayout<T>.size)
        return (full.pointee, declared)
    }

    /// The size a descriptor must declare: its ABI 1.0 size for a 1.0 plugin, its full size for a 1.1 one.
    func requiredSize<T>(_ type: T.Type, v1_0: Int) -> Int {
        (info?.minor ?? 0) >= 1 ? MemoryLayout<T>.size : v1_0
    }

    func declare(_ pointer: UnsafePointer<saddle_plugin_info>?) -> Int32 {
        guard error == nil else { return SADDLE_ERROR }
        guard info == nil else { return fail(.initializationFailed(path: path, message: "declare() was called twice")) }
        guard let pointer else { return fail(.initializationFailed(path: path, message: "declare() received no info")) }
        // The 1.0 part first; the 1.1 fields only from a plugin that declares 1.1.
        var (info, size) = Self.copy(pointer, limit: Int(SADDLE_PLUGIN_INFO_SIZE_1_0))
        if info.abi_minor >= 1 { info = Self.copy(pointer).0 }
        guard size >= Int(SADDLE_PLUGIN_INFO_SIZE_1_0) else {
            return fail(.structTooSmall(what: "\(path): saddle_plugin_info", size: size, required: Int(SADDLE_PLUGIN_INFO_SIZE_1_0)))
        }
        let abi = "\(info.abi_major).\(info.abi_minor)"
        guard Int32(info.abi_major) == SADDLE_PLUGIN_ABI_MAJOR, Int32(info.abi_minor) <= SADDLE_PLUGIN_ABI_MINOR else {
            return fail(.abiMismatch(path: path, plugin: abi, host: "\(SADDLE_PLUGIN_ABI_MAJOR).\(SADDLE_PLUGIN_ABI_MINOR)"))
        }
        if info.abi_minor >= 1, size < MemoryLayout<saddle_plugin_info>.size {
            return fail(.structTooSmall(what: "\(path): saddle_plugin_info", size: size, required: MemoryLayout<saddle_plugin_info>.size))
        }
        guard let name = string(info.name), !name.isEmpty, !name.contains("."),
            name.allSatisfy({ ($0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "_" })
        else {
            return fail(.initializationFailed(path: path, message: "the plugin name must be a lowercase word (its namespace), got \(string(info.name) ?? "nothing")"))
        }
        if info.flags & ~SADDLE_PLUGIN_THREAD_SAFE != 0 {
            return fail(.initializationFailed(path: path, message: "unknown flags \(info.flags) in saddle_plugin_info (ABI \(abi) knows SADDLE_PLUGIN_THREAD_SAFE = 1)"))
        }
        let threadSafe = info.flags & SADDLE_PLUGIN_THREAD_SAFE != 0
        self.info = Info(
            name: name, version: string(info.version) ?? "unversioned", summary: string(info.summary) ?? "", abi: abi, minor: Int(info.abi_minor),
            threadSafe: threadSafe)
        lock = threadSafe ? nil : PluginLock()
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
        // Every component struct holds its name at offset 8: read it only when the declared
        // size covers it.
        let component = size >= 16 ? string(name) ?? "(unnamed)" : "(unnamed)"
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

    /// The roles a kernel of this plugin may take: the 1.0 ones, and `added` from ABI 1.1 on.
    private func roles(_ base: String, added: String) -> String { (info?.minor ?? 0) >= 1 ? base + added : base }

    /// The plugin's string hyperparameters (ABI 1.1) as parameter specs.
    private func stringParameters(_ pointer: UnsafePointer<saddle_string_parameter>?, count: UInt32, component: String) throws -> [ParameterSpec] {
        guard count > 0 else { return [] }
        guard count <= 256, let pointer else {
            throw PluginError.invalidDescriptor(component: component, reason: "string_parameter_count is \(count) but string_parameters is \(pointer == nil ? "NULL" : "too long")")
        }
        return try (0..<Int(count)).map { index in
            let p = pointer[index]
            guard Int(p.struct_size) >= MemoryLayout<saddle_string_parameter>.size else {
                throw PluginError.structTooSmall(
                    what: "\(component) string parameter \(index): saddle_string_parameter", size: Int(p.struct_size),
                    required: MemoryLayout<saddle_string_parameter>.size)
            }
            guard let name = string(p.name), !name.isEmpty else {
                throw PluginError.invalidDescriptor(component: component, reason: "string parameter \(index) has no name")
            }
            var choices: [String]?
            if let list = p.choices {
                var values: [String] = []
                while let item = list[values.count] {
                    values.append(String(cString: item))
                    guard values.count <= 1024 else { throw PluginError.invalidDescriptor(component: component, reason: "string parameter \(name) lists over 1024 choices; is its list NULL-terminated?") }
                }
                guard !values.isEmpty else { throw PluginError.invalidDescriptor(component: component, reason: "string parameter \(name) has an empty list of choices") }
                choices = values
            }
            let defaultValue = string(p.default_value)
            if let defaultValue, let choices, !choices.contains(defaultValue) {
                throw PluginError.invalidDescriptor(component: component, reason: "string parameter \(name) has the default \"\(defaultValue)\", which is not one of its choices \(choices)")
            }
            return ParameterSpec(name, choices.map { .choice($0) } ?? .string, default: defaultValue.map { .string($0) }, string(p.summary) ?? "")
        }
    }

    /// Numeric then string parameter specs, with no name declared twice.
    private func allParameters(
        _ numeric: UnsafePointer<saddle_parameter>?, count: UInt32, _ strings: UnsafePointer<saddle_string_parameter>?, stringCount: UInt32,
        component: String
    ) throws -> (specs: [ParameterSpec], numeric: Int, strings: Int) {
        let numbers = try parameters(numeric, count: count, component: component)
        let texts = try stringParameters(strings, count: stringCount, component: component)
        if let repeated = Set(numbers.map(\.name)).intersection(texts.map(\.name)).first {
            throw PluginError.invalidDescriptor(component: component, reason: "parameter \(repeated) is declared twice")
        }
        return (numbers + texts, numbers.count, texts.count)
    }

    func registerActivation(_ pointer: UnsafePointer<saddle_activation>?) -> Int32 {
        guard let pointer else { return fail(.initializationFailed(path: path, message: "register_activation received NULL")) }
        let (d, size) = Self.copy(pointer)
        guard let component = begin("activation", size: UInt32(size), required: MemoryLayout<saddle_activation>.size, name: d.name) else { return SADDLE_ERROR }
        do {
            let allowed = "nxyhe"
            guard let forward = try PluginKernel(d.forward, component: component, slot: "forward", allowed: allowed, required: "nxy", lock: lock),
                let derivative = try PluginKernel(d.derivative, component: component, slot: "derivative", allowed: allowed, required: "nxy", lock: lock)
            else { throw PluginError.invalidDescriptor(component: component, reason: "an activation needs forward and derivative kernels") }
            let kernels = ActivationKernels(
                name: component, forward: forward, derivative: derivative,
                secondDerivative: try PluginKernel(
                    d.second_derivative, component: component, slot: "second_derivative", allowed: allowed, required: "nxy", lock: lock))
            let specs = try parameters(d.parameters, count: d.parameter_count, component: component)
            entries.append(ComponentEntry(
                kind: .activation, name: component, summary: string(d.summary) ?? "", parameters: specs, origin: origin(),
                identity: "plugin:\(digest)|\(component)",
                factory: .layer { args, context in
                    try requireKernels([forward, derivative], for: context.dtype, component: component, at: args.path)
                    return PluginActivation(kernels: kernels, arguments: args.values)
                }))
            descriptors[component] = .activation(kernels)
            return SADDLE_OK
        } catch let failure as PluginError {
            return fail(failure)
        } catch {
            return fail(.invalidDescriptor(component: component, reason: "\(error)"))
        }
    }

    /// Per-weight (or per-buffer) axes from a 1.1 array, -1 for all when NULL; each must be -1
    /// or a possible axis.
    private func axes(_ pointer: UnsafePointer<Int32>?, count: Int, what: String, component: String) throws -> [Int] {
        guard let pointer else { return [Int](repeating: -1, count: count) }
        return try (0..<count).map { k in
            let axis = Int(pointer[k])
            guard axis >= -1, axis < Int(SADDLE_MAX_RANK) else {
                throw PluginError.invalidDescriptor(component: component, reason: "\(what)[\(k)] is \(axis); an axis is -1 (none) or 0 to \(SADDLE_MAX_RANK - 1)")
            }
            return axis
        }
    }

    func registerLayer(_ pointer: UnsafePointer<saddle_layer>?) -> Int32 {
        guard let pointer else { return fail(.initializationFailed(path: path, message: "register_layer received NULL")) }
        let required = requiredSize(saddle_layer.self, v1_0: SADDLE_LAYER_SIZE_1_0)
        let (d, size) = Self.copy(pointer, limit: required)
        guard let component = begin("layer", size: UInt32(size), required: required, name: d.name)
        else { return SADDLE_ERROR }
        do {
            guard d.output_features != nil || d.output_shape != nil else {
                throw PluginError.invalidDescriptor(component: component, reason: "output_features or (ABI 1.1) output_shape is required")
            }
            guard d.output_shape == nil || d.output_features == nil else {
                throw PluginError.invalidDescriptor(component: component, reason: "give output_features (vectors) or output_shape (any shape), not both")
            }
            guard d.weight_shape != nil || d.weight_shape_of != nil || d.weight_count == 0 else {
                throw PluginError.invalidDescriptor(component: component, reason: "weight_shape or (ABI 1.1) weight_shape_of is required")
            }
            guard d.output_shape == nil || d.weight_count == 0 || d.weight_shape_of != nil else {
                throw PluginError.invalidDescriptor(component: component, reason: "a layer with output_shape gives its weights' shapes with weight_shape_of")
            }
            guard d.initialize != nil || d.initialize_of != nil || d.weight_count == 0 else {
                throw PluginError.invalidDescriptor(component: component, reason: "initialize or (ABI 1.1) initialize_of is required")
            }
            let weights = try names(d.weight_names, count: d.weight_count, what: "weight", component: component)
            let buffers = try names(d.buffer_names, count: d.buffer_count, what: "buffer", component: component)
            if let clash = Set(weights).intersection(buffers).first {
                throw PluginError.invalidDescriptor(component: component, reason: "\(clash) names both a weight and a buffer")
            }
            guard buffers.isEmpty || (d.buffer_shape != nil && d.buffer_initial_values != nil) else {
                throw PluginError.invalidDescriptor(component: component, reason: "a layer with buffers gives buffer_shape and buffer_initial_values")
            }
            let initialValues = (0..<buffers.count).map { d.buffer_initial_values![$0] }
            if let bad = initialValues.first(where: { !$0.isFinite }) {
                throw PluginError.invalidDescriptor(component: component, reason: "a buffer's initial value is \(bad)")
            }
            let needsWeights = weights.isEmpty ? "" : "w"
            let common = roles("bioxwhe", added: "IOmurS")
            guard let forward = try PluginKernel(d.forward, component: component, slot: "forward", allowed: common + "y" + roles("", added: "U"),
                                                 required: "bxy" + needsWeights, lock: lock),
                let backward = try PluginKernel(
                    d.backward, component: component, slot: "backward", allowed: common + "gdD" + roles("", added: "q"), required: "bgd" + (weights.isEmpty ? "" : "D"), lock: lock)
            else { throw PluginError.invalidDescriptor(component: component, reason: "a layer needs forward and backward kernels") }
            // With weights, the second-order rule must read their tangents and write their gradients.
            let jvp = try PluginKernel(
                d.jvp, component: component, slot: "jvp", allowed: common + "XWy" + roles("", added: "k"), required: "bXy" + (weights.isEmpty ? "" : "W"), lock: lock)
            let backwardJVP = try PluginKernel(
                d.backward_jvp, component: component, slot: "backward_jvp", allowed: common + "gXWdD" + roles("", added: "kGq"),
                required: "bd" + (weights.isEmpty ? "" : "WD"), lock: lock)
            if (jvp == nil) != (backwardJVP == nil) {
                throw PluginError.invalidDescriptor(component: component, reason: "jvp and backward_jvp form the second-order rule: give both or neither")
            }
            if let jvp, let backwardJVP, jvp.takes("k") != backwardJVP.takes("k") {
                throw PluginError.invalidDescriptor(component: component, reason: "jvp and backward_jvp must both take 'k' (batched tangents) or neither")
            }
            if let backwardJVP, backwardJVP.takes("k"), !backwardJVP.takes("G") {
                throw PluginError.invalidDescriptor(component: component, reason: "a batched backward_jvp ('k') must also take 'G', the tangent of the upstream gradient")
            }
            if forward.takes("U"), buffers.isEmpty {
                throw PluginError.invalidDescriptor(component: component, reason: "the forward kernel takes 'U' but the layer declares no buffers")
            }
            let (specs, numeric, strings) = try allParameters(
                d.parameters, count: d.parameter_count, d.string_parameters, stringCount: d.string_parameter_count, component: component)
            let role = d.transform_role
            guard [SADDLE_TRANSFORM_NONE, SADDLE_TRANSFORM_UNITS, SADDLE_TRANSFORM_FEATURE_WISE].contains(role) else {
                throw PluginError.invalidDescriptor(component: component, reason: "transform_role \(role) is not one of SADDLE_TRANSFORM_NONE, _UNITS, _FEATURE_WISE")
            }
            let unitsParameter = string(d.units_parameter)
            if role == SADDLE_TRANSFORM_UNITS {
                guard let unitsParameter, let spec = specs.first(where: { $0.name == unitsParameter }), case .integer = spec.type else {
                    throw PluginError.invalidDescriptor(
                        component: component, reason: "a SADDLE_TRANSFORM_UNITS layer names its integer units hyperparameter in units_parameter")
                }
            }
            guard d.identity == nil || role == SADDLE_TRANSFORM_UNITS else {
                throw PluginError.invalidDescriptor(component: component, reason: "identity is for SADDLE_TRANSFORM_UNITS layers")
            }
            var exampleInput: [Int]?
            if let shape = d.example_input {
                guard let dims = shape.pointee.checkedDims else {
                    throw PluginError.invalidDescriptor(component: component, reason: "example_input has \(shape.pointee.text)")
                }
                exampleInput = dims
            }
            let descriptor = LayerDescriptor(
                name: component, raw: d, weightNames: weights, bufferNames: buffers, bufferInitialValues: initialValues, numericCount: numeric,
                stringCount: strings, kernels: (forward, backward, jvp, backwardJVP), lock: lock,
                transform: (
                    role, unitsParameter,
                    try axes(d.weight_unit_axes, count: weights.count, what: "weight_unit_axes", component: component),
                    try axes(d.weight_input_axes, count: weights.count, what: "weight_input_axes", component: component),
                    try axes(d.buffer_unit_axes, count: buffers.count, what: "buffer_unit_axes", component: component)),
                exampleInput: exampleInput)
            entries.append(ComponentEntry(
                kind: .layer, name: component, summary: string(d.summary) ?? "", parameters: specs, origin: origin(),
                identity: "plugin:\(digest)|\(component)",
                factory: .layer { args, context in
                    if !descriptor.isShaped {
                        try requireRank(context.inputShape, 1, layer: component, expected: "[features]", at: args.path)
                    }
                    guard context.inputShape.count <= Int(SADDLE_MAX_RANK) else {
                        throw ConfigurationError(args.path, "\(component) takes inputs of rank up to \(SADDLE_MAX_RANK) per example, not \(context.inputShape)")
                    }
                    try requireKernels([forward, backward], for: context.dtype, component: component, at: args.path)
                    var memory = context.memory
                    let state: PluginLayerState
                    do {
                        state = try descriptor.makeState(
                            arguments: args.values, input: context.inputShape, dtype: context.dtype, generator: &context.generator,
                            reserving: { shape in try memory.reserve(parameters: shape, layer: component, at: args.path) })
                    } catch let error as PluginError {
                        throw ConfigurationError(args.path, "\(error)")
                    }
                    context.memory = memory
                    context.inputShape = state.outputShape
                    return state.layer
                }))
            descriptors[component] = .layer(descriptor)
            return SADDLE_OK
        } catch let failure as PluginError {
            return fail(failure)
        } catch {
            return fail(.invalidDescriptor(component: component, reason: "\(error)"))
        }
    }

    func registerOptimizer(_ pointer: UnsafePointer<saddle_optimizer>?) -> Int32 {
        guard let pointer else { return fail(.initializationFailed(path: path, message: "register_optimizer received NULL")) }
        let required = requiredSize(saddle_optimizer.self, v1_0: SADDLE_OPTIMIZER_SIZE_1_0)
        let (d, size) = Self.copy(pointer, limit: required)
        guard let component = begin("optimizer", size: UInt32(size), required: required, name: d.name)
        else { return SADDLE_ERROR }
        do {
            guard let update = try PluginKernel(
                d.update, component: component, slot: "update", allowed: roles("npgshlte", added: "PS"), required: "npg", lock: lock)
            else {
                throw PluginError.invalidDescriptor(component: component, reason: "an optimizer needs an update kernel")
            }
            let states = try names(d.state_names, count: d.state_count, what: "state", component: component)
            var (specs, declaredParameters, strings) = try allParameters(
                d.parameters, count: d.parameter_count, d.string_parameters, stringCount: d.string_parameter_count, component: component)
            guard specs.contains(where: { $0.name == "learning_rate" }) else {
                throw PluginError.invalidDescriptor(component: component, reason: "an optimizer must declare a learning_rate parameter")
            }
            if !specs.contains(where: { $0.name == "max_gradient_norm" }) {
                specs.append(ParameterSpec(
                    "max_gradient_norm", .number(0...1e12, exclusiveMinimum: true), default: .null, "clip the global gradient norm to this (null: no clipping)"))
            }
            let kernel = OptimizerKernel(name: component, stateNames: states, update: update, declaredParameters: declaredParameters, stringParameters: strings)
            entries.append(ComponentEntry(
                kind: .optimizer, name: component, summary: string(d.summary) ?? "", parameters: specs, origin: origin(),
                identity: "plugin:\(digest)|\(component)",
                factory: .optimizer { args in try PluginOptimizer(kernel: kernel, arguments: args.values) }))
            descriptors[component] = .optimizer(kernel)
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
